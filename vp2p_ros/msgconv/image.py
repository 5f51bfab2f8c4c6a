"""``sensor_msgs/Image`` <-> numpy (a cv_bridge equivalent without OpenCV's C++ bridge).

Encodings are the strings of sensor_msgs/image_encodings.hpp. Colour images come out in the
encoding's own channel order by :func:`image_to_array`; :func:`image_to_rgb8` gives the (H, W, 3)
uint8 RGB array the network and the overlays use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vp2p_ros.errors import MalformedMessageError, UnsupportedEncodingError
from vp2p_ros.msgconv import types as _types
from vp2p_ros.msgconv.buffer import message_bytes

__all__ = ["ENCODINGS", "image_to_array", "image_to_rgb8", "array_to_image"]

# encoding -> (numpy base dtype, channels)
ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3),
    "bgr8": ("u1", 3),
    "rgba8": ("u1", 4),
    "bgra8": ("u1", 4),
    "rgb16": ("u2", 3),
    "bgr16": ("u2", 3),
    "rgba16": ("u2", 4),
    "bgra16": ("u2", 4),
    "mono8": ("u1", 1),
    "mono16": ("u2", 1),
    "8UC1": ("u1", 1),
    "8UC3": ("u1", 3),
    "8UC4": ("u1", 4),
    "16UC1": ("u2", 1),
    "16SC1": ("i2", 1),
    "32SC1": ("i4", 1),
    "32FC1": ("f4", 1),
    "64FC1": ("f8", 1),
    **{
        f"bayer_{p}{b}": ("u1" if b == 8 else "u2", 1)
        for p in ("rggb", "bggr", "gbrg", "grbg")
        for b in (8, 16)
    },
}

# ROS Bayer pattern -> OpenCV conversion code name. OpenCV names a pattern by the 2x2 block that
# starts at the second row and column, hence the shift (the same mapping cv_bridge uses).
_BAYER_TO_CV = {
    "rggb": "COLOR_BayerBG2RGB",
    "bggr": "COLOR_BayerRG2RGB",
    "gbrg": "COLOR_BayerGR2RGB",
    "grbg": "COLOR_BayerGB2RGB",
}


def image_to_array(msg: Any) -> np.ndarray:
    """Return the pixels as (H, W) or (H, W, C) in the encoding's dtype and channel order.

    Raises:
        UnsupportedEncodingError: the encoding is not in ENCODINGS (the message names it).
        MalformedMessageError: step / data size inconsistent with width, height and encoding.
    """
    enc = str(msg.encoding)
    if enc not in ENCODINGS:
        raise UnsupportedEncodingError(
            f"image encoding {enc!r} is not supported; supported: {', '.join(sorted(ENCODINGS))}"
        )
    base, ch = ENCODINGS[enc]
    dtype = np.dtype(base).newbyteorder(">" if msg.is_bigendian else "<")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise MalformedMessageError(f"image size must be positive, got {w}x{h}")
    row_bytes = w * ch * dtype.itemsize
    if step < row_bytes:
        raise MalformedMessageError(
            f"step {step} is smaller than width*channels*bytes = {row_bytes} for {enc!r}"
        )
    data = message_bytes(msg.data)
    if data.size != step * h:
        raise MalformedMessageError(
            f"data has {data.size} bytes, expected step*height = {step}*{h} = {step * h}"
        )
    rows = np.ascontiguousarray(data.reshape(h, step)[:, :row_bytes])
    arr = rows.view(dtype).reshape(h, w, ch) if ch > 1 else rows.view(dtype).reshape(h, w)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def image_to_rgb8(msg: Any) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB image for any supported encoding.

    16-bit colour/mono keep their top 8 bits; depth-like single channels (16UC1, 32FC1, ...) are
    min-max scaled over their finite pixels; Bayer mosaics are demosaiced (bilinear, OpenCV).
    """
    import cv2

    enc = str(msg.encoding)
    arr = image_to_array(msg)
    if enc.startswith("bayer_"):
        mosaic = arr if arr.dtype == np.uint8 else (arr >> 8).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(mosaic), getattr(cv2, _BAYER_TO_CV[enc[6:10]]))
    if enc in ("mono16", "rgb16", "bgr16", "rgba16", "bgra16"):
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        f = arr.astype(np.float64)
        good = np.isfinite(f)
        lo, hi = (f[good].min(), f[good].max()) if good.any() else (0.0, 1.0)
        f = np.where(good, (f - lo) / max(hi - lo, 1e-12) * 255.0, 0.0)
        arr = f.astype(np.uint8)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    if enc.startswith("bgr"):
        return np.ascontiguousarray(arr[..., 2::-1])
    return np.ascontiguousarray(arr[..., :3])


def array_to_image(
    arr: np.ndarray,
    encoding: str,
    *,
    frame_id: str = "",
    stamp: Any = None,
    msg_cls: Any = None,
    header_cls: Any = None,
) -> Any:
    """Build an Image (little-endian, no row padding) from an array in ``encoding``'s layout.

    Raises:
        UnsupportedEncodingError: unknown encoding.
        ValueError: array shape or dtype does not match the encoding.
    """
    if encoding not in ENCODINGS:
        raise UnsupportedEncodingError(f"image encoding {encoding!r} is not supported")
    base, ch = ENCODINGS[encoding]
    arr = np.asarray(arr)
    want = (ch,) if ch > 1 else ()
    if arr.ndim != 2 + (ch > 1) or tuple(arr.shape[2:]) != want:
        dims = f"(H, W, {ch})" if ch > 1 else "(H, W)"
        raise ValueError(f"{encoding} needs an array of shape {dims}, got {arr.shape}")
    if arr.dtype != np.dtype(base):
        raise ValueError(f"{encoding} needs dtype {np.dtype(base)}, got {arr.dtype}")
    arr = np.ascontiguousarray(arr.astype(np.dtype(base).newbyteorder("<")))
    msg = (msg_cls or _types.Image)()
    header = (header_cls or _types.Header)()
    header.frame_id = frame_id
    if stamp is not None:
        header.stamp = stamp
    msg.header = header
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(arr.shape[1] * ch * arr.dtype.itemsize)
    msg.data = arr.tobytes()
    return msg

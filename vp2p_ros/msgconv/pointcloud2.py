"""``sensor_msgs/PointCloud2`` <-> numpy, for any message-shaped object (rclpy or stand-in).

Follows sensor_msgs_py.point_cloud2 (structured dtype from the fields, offsets, point_step,
endianness) and fixes what it leaves out: row padding (``row_step > width * point_step``),
organised clouds reshaped as (height, width), and strict validation of the layout.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from vp2p_ros.errors import MalformedMessageError, UnsupportedEncodingError
from vp2p_ros.msgconv import types as _types
from vp2p_ros.msgconv.buffer import message_bytes

__all__ = ["CloudArrays", "pointcloud2_to_arrays", "arrays_to_pointcloud2", "POINTFIELD_DTYPES"]

POINTFIELD_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
_INTENSITY_NAMES = ("intensity", "reflectivity", "i")


@dataclasses.dataclass
class CloudArrays:
    """Points of one cloud.

    Attributes:
        xyz: (N, 3) float32 (float64 if the message stores float64), metres, message frame.
        intensity: (N,) float32, or None when the cloud has no intensity field.
        valid: (H, W) bool mask of finite points in the organised layout (H = 1 if unorganised).
        fields: the structured array of every field, (H, W), for rings / timestamps etc.
    """

    xyz: np.ndarray
    intensity: np.ndarray | None
    valid: np.ndarray
    fields: np.ndarray


def _structured_dtype(msg: Any) -> np.dtype:
    point_step = int(msg.point_step)
    names, formats, offsets = [], [], []
    order = ">" if msg.is_bigendian else "<"
    for f in msg.fields:
        name = str(f.name)
        if int(f.datatype) not in POINTFIELD_DTYPES:
            raise UnsupportedEncodingError(
                f"PointField {name!r} has unknown datatype {int(f.datatype)} (valid: 1..8)"
            )
        count = int(f.count)
        if count < 1:
            raise MalformedMessageError(f"PointField {name!r} has count {count} (must be >= 1)")
        base = np.dtype(order + POINTFIELD_DTYPES[int(f.datatype)])
        if int(f.offset) < 0 or int(f.offset) + base.itemsize * count > point_step:
            raise MalformedMessageError(
                f"PointField {name!r} (offset {int(f.offset)}, {base.itemsize * count} bytes) "
                f"does not fit in point_step {point_step}"
            )
        if name in names:
            raise MalformedMessageError(f"duplicate PointField name {name!r}")
        names.append(name)
        formats.append((base, (count,)) if count > 1 else base)
        offsets.append(int(f.offset))
    spans = sorted(
        (off, off + np.dtype(fmt).itemsize, name)
        for off, fmt, name in zip(offsets, formats, names)
    )
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        if start < end:
            raise MalformedMessageError(f"PointField layout is invalid: {a!r} and {b!r} overlap")
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step}
    )


def pointcloud2_to_arrays(msg: Any, *, skip_nans: bool = True) -> CloudArrays:
    """Convert a PointCloud2 to xyz / intensity arrays.

    Args:
        msg: a PointCloud2-shaped object.
        skip_nans: drop points whose x, y or z is NaN or inf (also when ``is_dense`` claims
            there are none: drivers get that flag wrong).

    Returns:
        CloudArrays.

    Raises:
        MalformedMessageError: inconsistent sizes, steps, offsets or missing x/y/z.
        UnsupportedEncodingError: unknown PointField datatype.
    """
    h, w = int(msg.height), int(msg.width)
    point_step, row_step = int(msg.point_step), int(msg.row_step)
    if h < 0 or w < 0:
        raise MalformedMessageError(f"negative cloud size {h}x{w}")
    names = [str(f.name) for f in msg.fields]
    for axis in "xyz":
        if axis not in names:
            raise MalformedMessageError(f"PointCloud2 has no {axis!r} field (fields: {names})")
    if point_step <= 0:
        raise MalformedMessageError(f"point_step must be positive, got {point_step}")
    dtype = _structured_dtype(msg)
    if row_step < w * point_step:
        raise MalformedMessageError(
            f"row_step {row_step} is smaller than width*point_step = {w * point_step}"
        )
    data = message_bytes(msg.data)
    if data.size != row_step * h:
        raise MalformedMessageError(
            f"data has {data.size} bytes, expected row_step*height = {row_step}*{h} = "
            f"{row_step * h}"
        )
    rows = data.reshape(h, row_step)[:, : w * point_step]
    cloud = np.ascontiguousarray(rows).view(dtype).reshape(h, w)
    xyz = np.stack([_as_scalar(cloud, "x"), _as_scalar(cloud, "y"), _as_scalar(cloud, "z")], -1)
    xyz = xyz.astype(np.float64 if xyz.dtype == np.float64 else np.float32, copy=False)
    valid = np.all(np.isfinite(xyz), axis=-1)
    inten_name = next((n for n in _INTENSITY_NAMES if n in names), None)
    inten = None if inten_name is None else _as_scalar(cloud, inten_name).astype(np.float32)
    flat_xyz, flat_valid = xyz.reshape(-1, 3), valid.reshape(-1)
    if skip_nans:
        flat_xyz = flat_xyz[flat_valid]
        inten = None if inten is None else inten.reshape(-1)[flat_valid]
    else:
        inten = None if inten is None else inten.reshape(-1)
    return CloudArrays(np.ascontiguousarray(flat_xyz), inten, valid, cloud)


def _as_scalar(cloud: np.ndarray, name: str) -> np.ndarray:
    col = cloud[name]
    if col.ndim == cloud.ndim + 1:  # count > 1: take the first element
        col = col[..., 0]
    return col.astype(col.dtype.newbyteorder("="), copy=False)


def arrays_to_pointcloud2(
    xyz: np.ndarray,
    intensity: np.ndarray | None = None,
    *,
    frame_id: str = "",
    stamp: Any = None,
    msg_cls: Any = None,
    field_cls: Any = None,
    header_cls: Any = None,
) -> Any:
    """Build an unorganised little-endian float32 PointCloud2 (x, y, z[, intensity]).

    Args:
        xyz: (N, 3) metres.
        intensity: optional (N,).
        frame_id, stamp: header fields (stamp: a Time-shaped object).
        msg_cls, field_cls, header_cls: message classes (default: the plain stand-ins).

    Raises:
        ValueError: wrong shapes.
    """
    msg_cls = msg_cls or _types.PointCloud2
    field_cls = field_cls or _types.PointField
    header_cls = header_cls or _types.Header
    xyz = np.asarray(xyz, dtype=np.float32)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ValueError(f"xyz must have shape (N, 3), got {xyz.shape}")
    cols = [xyz]
    names = ["x", "y", "z"]
    if intensity is not None:
        intensity = np.asarray(intensity, dtype=np.float32).reshape(-1, 1)
        if len(intensity) != len(xyz):
            raise ValueError(f"intensity has {len(intensity)} values for {len(xyz)} points")
        cols.append(intensity)
        names.append("intensity")
    arr = np.ascontiguousarray(np.concatenate(cols, axis=1).astype("<f4"))
    fields = [field_cls(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate(names)]
    header = header_cls()
    header.frame_id = frame_id
    if stamp is not None:
        header.stamp = stamp
    msg = msg_cls()
    msg.header = header
    msg.height, msg.width = 1, len(arr)
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = 4 * len(names)
    msg.row_step = msg.point_step * len(arr)
    msg.data = arr.tobytes()
    msg.is_dense = bool(np.all(np.isfinite(xyz)))
    return msg

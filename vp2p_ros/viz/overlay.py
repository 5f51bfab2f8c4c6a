"""Overlays: LiDAR points projected on the image, coloured by depth (VP2P's proj_* PNGs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vp2p_ros.camera import CameraModel
from vp2p_ros.geometry import transform_points

__all__ = ["depth_colors", "draw_projection", "label", "save_png", "stack_vertical"]


def depth_colors(depth: np.ndarray, max_depth: float = 50.0) -> np.ndarray:
    """(N,) metres -> (N, 3) uint8 RGB; near = red, far = blue (OpenCV's JET, reversed)."""
    import cv2

    t = np.clip(1.0 - np.asarray(depth, dtype=np.float64) / max_depth, 0.0, 1.0)
    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, ::-1]
    return lut[(t * 255).astype(np.uint8)]


def draw_projection(
    image: np.ndarray,
    points_lidar: np.ndarray,
    T_cam_lidar: np.ndarray,
    camera: CameraModel,
    *,
    max_depth: float = 50.0,
    radius: int = 1,
    max_points: int = 60000,
    dim: float = 0.6,
) -> np.ndarray:
    """Project LiDAR points with ``T_cam_lidar`` and draw them on a copy of ``image``.

    Args:
        image: (H, W, 3) uint8 RGB matching ``camera``.
        points_lidar: (N, 3) metres, LiDAR frame.
        T_cam_lidar: (4, 4) extrinsic to draw with.
        camera: intrinsics of ``image`` (distortion honoured).
        max_depth: depth (m) that maps to the far end of the colour map.
        radius: dot radius in pixels (0 = single pixels).
        max_points: draw at most this many (the nearest point wins each pixel).
        dim: darken the background image by this factor so the points stand out.

    Returns:
        (H, W, 3) uint8 RGB.
    """
    pc = transform_points(
        np.asarray(T_cam_lidar, dtype=np.float64), np.asarray(points_lidar, dtype=np.float64)
    )
    uv, ok = camera.project(pc)
    uv, z = uv[ok], pc[ok, 2]
    if len(z) > max_points:
        keep = np.linspace(0, len(z) - 1, max_points).astype(np.int64)
        uv, z = uv[keep], z[keep]
    out = (image.astype(np.float32) * dim).astype(np.uint8)
    h, w = out.shape[:2]
    r = max(int(radius), 0)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = (dx * dx + dy * dy) <= r * r + r  # r = 1: the 3x3 block, like cv2.circle
    dx, dy = dx[disk], dy[disk]
    pix = np.round(uv).astype(np.int64)
    u = (pix[:, :1] + dx).ravel()
    v = (pix[:, 1:] + dy).ravel()
    owner = np.repeat(np.arange(len(z)), len(dx))
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    flat, owner = v[inside] * w + u[inside], owner[inside]
    # z-buffer: each pixel shows its nearest point
    depth = z[owner]
    zbuf = np.full(h * w, np.inf)
    np.minimum.at(zbuf, flat, depth)
    near = depth <= zbuf[flat]
    out.reshape(-1, 3)[flat[near]] = depth_colors(depth[near], max_depth)
    return out


def label(image: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner (white on a dark box) of a copy of ``image``."""
    import cv2

    out = image.copy()
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)
    cv2.rectangle(out, (0, 0), (w + 10, h + 12), (0, 0, 0), -1)
    cv2.putText(
        out, text, (5, h + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA
    )
    return out


def stack_vertical(images: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Stack RGB images top to bottom (padded to the widest) with a black gap."""
    width = max(im.shape[1] for im in images)
    rows = []
    for im in images:
        pad = np.zeros((im.shape[0], width, 3), np.uint8)
        pad[:, : im.shape[1]] = im
        rows += [pad, np.zeros((gap, width, 3), np.uint8)]
    return np.concatenate(rows[:-1], axis=0)


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG (creating folders); returns the path."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f"could not write {path}")
    return path

"""The real frames shipped inside the package (KITTI raw, CC BY-NC-SA 3.0; see its README)."""

from __future__ import annotations

from pathlib import Path

from vp2p_ros.data.frame import Frame
from vp2p_ros.data.kitti import kitti_raw_indices, load_kitti_raw

__all__ = ["BUNDLED_KITTI_RAW", "load_bundled_frames"]

BUNDLED_KITTI_RAW = Path(__file__).resolve().parent.parent / "assets" / "kitti_raw_2011_09_26"


def load_bundled_frames(limit: int | None = None) -> list[Frame]:
    """Load the bundled consecutive KITTI raw frames (5 frames, 10 Hz, camera 2)."""
    idx = kitti_raw_indices(BUNDLED_KITTI_RAW)[:limit]
    return [load_kitti_raw(BUNDLED_KITTI_RAW, i) for i in idx]

"""Training / evaluation frames from a ``data`` config section, one reader per dataset.

Every source returns ``Frame`` objects or zero-argument loaders of one (large datasets are read
lazily, per item, by :class:`~vp2p_ros.train.data.PairDataset`). ``source`` and its keys:

* ``synthetic``: ``scenes`` (count), ``seed``, ``rig: full | small``, ``workers`` (processes
  that generate them) -- seeded streets.
* ``kitti_raw``: ``path`` (a drive folder; default: the bundled frames), ``limit``.
* ``kitti_odometry``: ``path`` (VP2P's layout: ``calib/``, ``data_odometry_color/``,
  ``data_odometry_velodyne/``), ``sequences`` (list; VP2P trains on 0-8), ``cameras`` ([2, 3] as
  the release: each frame gives one sample per colour camera), ``stride``, ``limit``.
* ``kitti_object``: ``path`` (``calib/``, ``image_2/``, ``velodyne/``), ``limit``.
* ``nuscenes``: ``path`` (dataroot), ``version``, ``camera``, ``lidar``, ``limit`` -- key frames.
* ``bag``: ``path`` (.mcap / .db3 / folder), ``image_topic``, ``info_topic``, ``points_topic``,
  ``ground_truth_topic`` (a TFMessage topic holding ``T_cam_lidar``, as ``vp2p-make-bag``
  writes), ``limit``. A bag without ground truth cannot train: that is an error.
"""

from __future__ import annotations

import concurrent.futures
import functools
from pathlib import Path

from tqdm import tqdm

from vp2p_ros.errors import DatasetError

__all__ = ["SMALL_RIG", "SOURCES", "load_source"]

SMALL_RIG = dict(width=620, height=188, focal=360.0, beams=32, azimuth_step_deg=0.4)


def _limit(items: list, data: dict) -> list:
    limit = data.get("limit")
    return items if limit is None else items[: int(limit)]


def _synthetic(data: dict) -> list:
    from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame

    rig = SyntheticRig(**SMALL_RIG) if data.get("rig", "full") == "small" else SyntheticRig()
    seeds = range(int(data.get("seed", 0)), int(data.get("seed", 0)) + int(data.get("scenes", 32)))
    make = functools.partial(synthetic_frame, rig=rig)
    workers = int(data.get("workers", 0))
    if workers <= 1:
        return [make(s) for s in tqdm(seeds, desc="scenes")]
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:  # ray casting is CPU-bound
        return list(tqdm(pool.map(make, seeds), total=len(seeds), desc="scenes"))


def _kitti_raw(data: dict) -> list:
    from vp2p_ros.data import BUNDLED_KITTI_RAW, kitti_raw_indices, load_kitti_raw

    path = Path(data.get("path") or BUNDLED_KITTI_RAW)
    return [
        functools.partial(load_kitti_raw, path, i) for i in _limit(kitti_raw_indices(path), data)
    ]


def _kitti_odometry(data: dict) -> list:
    from vp2p_ros.data import load_kitti_odometry

    root = Path(data["path"])
    stride = int(data.get("stride", 1))
    loaders = []
    for seq in data.get("sequences", list(range(9))):
        images = root / "data_odometry_color" / "sequences" / f"{int(seq):02d}" / "image_2"
        if not images.is_dir():
            raise DatasetError(f"KITTI odometry sequence folder not found: {images}")
        indices = sorted(int(p.stem) for p in images.glob("*.png"))[::stride]
        for i in indices:
            for cam in data.get("cameras", [2, 3]):
                loaders.append(functools.partial(load_kitti_odometry, root, int(seq), i, int(cam)))
    return _limit(loaders, data)


def _kitti_object(data: dict) -> list:
    from vp2p_ros.data import load_kitti_object

    root = Path(data["path"])
    indices = sorted(int(p.stem) for p in (root / "image_2").glob("*.png"))
    if not indices:
        raise DatasetError(f"no KITTI object images under {root / 'image_2'}")
    return [functools.partial(load_kitti_object, root, i) for i in _limit(indices, data)]


def _nuscenes(data: dict) -> list:
    from vp2p_ros.data import NuScenesTables, load_nuscenes

    tables = NuScenesTables(data["path"], data.get("version", "v1.0-mini"))
    camera, lidar = data.get("camera", "CAM_FRONT"), data.get("lidar", "LIDAR_TOP")
    tokens = tables.sample_tokens(camera)
    return [
        functools.partial(load_nuscenes, tables, t, camera, lidar) for t in _limit(tokens, data)
    ]


def _bag(data: dict) -> list:
    from vp2p_ros.data.bag_frames import BagFrames, ground_truth

    path = data["path"]
    gt_topic = data.get("ground_truth_topic", "/vp2p/ground_truth")
    T = ground_truth(path, gt_topic)
    if T is None:
        raise DatasetError(f"{path}: no ground truth on {gt_topic}; a bag needs one to train on")
    topics = {k: data[k] for k in ("image_topic", "info_topic", "points_topic") if k in data}
    frames = []
    for frame in tqdm(BagFrames(path, **topics), desc="bag sets", unit="set"):
        frame.T_cam_lidar = T.copy()
        frames.append(frame)
        if data.get("limit") is not None and len(frames) >= int(data["limit"]):
            break
    if not frames:
        raise DatasetError(
            f"{path}: no synchronised camera + LiDAR sets on {topics or 'defaults'}"
        )
    return frames


SOURCES = {
    "synthetic": _synthetic,
    "kitti_raw": _kitti_raw,
    "kitti_odometry": _kitti_odometry,
    "kitti_object": _kitti_object,
    "nuscenes": _nuscenes,
    "bag": _bag,
}


def load_source(data: dict) -> list:
    """The ``data`` section -> frames or frame loaders (see the module doc).

    Raises:
        ValueError: unknown ``source``.
        DatasetError: missing folders, tables or ground truth.
    """
    source = data.get("source", "synthetic")
    if source not in SOURCES:
        raise ValueError(f"data.source must be one of {sorted(SOURCES)}, got {source!r}")
    frames = SOURCES[source](data)
    if not frames:
        raise DatasetError(f"data source {source!r} gave no frames ({data})")
    return frames

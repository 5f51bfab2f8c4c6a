"""nuScenes reader from the devkit's JSON tables (no nuscenes-devkit needed).

Reads ``<dataroot>/<version>/{sample_data,calibrated_sensor,ego_pose,sensor}.json`` and the
files they name. nuScenes quaternions are ``(w, x, y, z)``; camera and LiDAR are captured at
different times, so the extrinsic goes through the global frame with both ego poses:

    T_cam_lidar = T_cam_ego^-1 . T_global_ego(t_cam)^-1 . T_global_ego(t_lidar) . T_ego_lidar
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vp2p_ros.data.frame import Frame
from vp2p_ros.data.io import read_rgb, read_velodyne_bin
from vp2p_ros.errors import DatasetError
from vp2p_ros.geometry import inverse_transform, make_transform, quaternion_to_matrix

__all__ = ["NuScenesTables", "load_nuscenes"]


def _pose(rec: dict) -> np.ndarray:
    w, x, y, z = rec["rotation"]
    return make_transform(
        quaternion_to_matrix(np.array([x, y, z, w], dtype=np.float64)),
        np.asarray(rec["translation"], dtype=np.float64),
    )


class NuScenesTables:
    """The four tables needed to build frames, indexed by token."""

    def __init__(self, dataroot: str | Path, version: str = "v1.0-mini") -> None:
        self.root = Path(dataroot)
        tables = {}
        for name in ("sample_data", "calibrated_sensor", "ego_pose", "sensor"):
            path = self.root / version / f"{name}.json"
            if not path.is_file():
                raise DatasetError(f"nuScenes table not found: {path}")
            try:
                tables[name] = {r["token"]: r for r in json.loads(path.read_text())}
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}: not a nuScenes table ({exc})") from exc
        self.sample_data = tables["sample_data"]
        self.calibrated_sensor = tables["calibrated_sensor"]
        self.ego_pose = tables["ego_pose"]
        self.sensor = tables["sensor"]

    def channel(self, sd: dict) -> str:
        return self.sensor[self.calibrated_sensor[sd["calibrated_sensor_token"]]["sensor_token"]][
            "channel"
        ]

    def sample_tokens(self, channel: str = "CAM_FRONT") -> list[str]:
        """Samples with a key frame on ``channel``, ordered by its timestamp."""
        recs = [
            sd
            for sd in self.sample_data.values()
            if sd.get("is_key_frame", True) and self.channel(sd) == channel
        ]
        return [sd["sample_token"] for sd in sorted(recs, key=lambda sd: sd["timestamp"])]

    def key_frame(self, sample_token: str, channel: str) -> dict:
        for sd in self.sample_data.values():
            if (
                sd["sample_token"] == sample_token
                and sd.get("is_key_frame", True)
                and self.channel(sd) == channel
            ):
                return sd
        raise DatasetError(f"sample {sample_token} has no key frame on channel {channel}")


def load_nuscenes(
    tables: NuScenesTables, sample_token: str, camera: str = "CAM_FRONT", lidar: str = "LIDAR_TOP"
) -> Frame:
    """Load the key-frame camera image and LiDAR sweep of one sample."""
    cam_sd, lid_sd = tables.key_frame(sample_token, camera), tables.key_frame(sample_token, lidar)
    cam_cs = tables.calibrated_sensor[cam_sd["calibrated_sensor_token"]]
    lid_cs = tables.calibrated_sensor[lid_sd["calibrated_sensor_token"]]
    T_global_egocam = _pose(tables.ego_pose[cam_sd["ego_pose_token"]])
    T_global_egolid = _pose(tables.ego_pose[lid_sd["ego_pose_token"]])
    T = (
        inverse_transform(_pose(cam_cs))
        @ inverse_transform(T_global_egocam)
        @ T_global_egolid
        @ _pose(lid_cs)
    )
    image = read_rgb(tables.root / cam_sd["filename"])
    scan = read_velodyne_bin(tables.root / lid_sd["filename"], columns=5)  # x y z intensity ring
    K = np.asarray(cam_cs["camera_intrinsic"], dtype=np.float64)
    return Frame.from_pinhole_scan(
        image,
        scan,
        K,
        T,
        f"nuscenes/{sample_token}/{camera}",
        int(cam_sd["timestamp"]) * 1000,
        int(lid_sd["timestamp"]) * 1000,
    )

"""Parameters of the calibration node: one dataclass, its defaults and descriptions.

The node declares a ROS parameter for every field (with the description below); the same class
validates them, so an invalid value stops the node at start with a clear message.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from vp2p_ros.calib.estimate import DIRECTIONS
from vp2p_ros.geometry import make_transform, rpy_to_matrix

__all__ = ["DESCRIPTIONS", "ESTIMATORS", "NodeConfig"]

ESTIMATORS = ("auto", "vp2p", "refine", "none")

DESCRIPTIONS = {
    "cameras": "camera names; camera <c> subscribes <c>/image and <c>/camera_info",
    "points_topic": "PointCloud2 topic of the LiDAR (shared by all cameras)",
    "parent_frame": "TF parent frame; empty: the frame_id of the camera / LiDAR messages",
    "child_frame": "TF child frame; empty: the frame_id of the LiDAR / camera messages",
    "direction": "cam_lidar: publish T_cam_lidar (parent = camera); lidar_cam: the inverse",
    "initial_xyz": "initial T_cam_lidar translation (m), camera frame",
    "initial_rpy": "initial T_cam_lidar rotation, ROS roll-pitch-yaw (rad)",
    "estimator": "auto (vp2p with a checkpoint, else refine) | vp2p | refine | none",
    "checkpoint": "VP2P weights (.pth or .safetensors); empty: no learned estimator",
    "refine_window": "refine: frames aligned jointly (the newest); the drift detector allows for "
    "the frames consecutive estimates share",
    "refine_rotation_std_deg": "refine: search spread around the prior, rotation (deg)",
    "refine_translation_std_m": "refine: search spread around the prior, translation (m)",
    "refine_translation_starts": "refine: coarsest-stage searches from the prior and +-1 "
    "translation spread per axis (1-7; 7 for a poor initial extrinsic, about twice the time)",
    "refine_mi_weight": "refine: weight of the LiDAR intensity / image brightness mutual "
    "information at the coarsest stage (0: edges only, for a LiDAR without useful intensity)",
    "refine_orientation_leak": "refine: share of each image edge's strength that attracts LiDAR "
    "edges of the other orientation too (0-1; 0: vertical and horizontal edges matched apart, 1: "
    "any orientation)",
    "refine_min_contrast": "refine: quality floor of the alignment contrast (optimum vs poses "
    "1 deg / 5 cm away, in cost standard deviations); a result below it is not published",
    "fuse": "fuse accepted estimates over time (SE(3) filter); publish the fused one",
    "drift_nominal": "drift detection against: converged (first converged fusion) | initial | off",
    "drift_threshold": "CUSUM threshold on the NIS for drift_confirmed (suspected at a third)",
    "device": "auto | cpu | cuda",
    "sync_slop_s": "largest stamp spread of a synchronised set (s)",
    "sync_queue_size": "messages kept per input while matching",
    "points_offset_s": "known delay of the LiDAR stamps after the camera's (s)",
    "jump_back_s": "a stamp this much older than the newest resets the sync (bag loop)",
    "min_inliers": "quality gate: minimum PnP inliers",
    "max_rotation_std_deg": "quality gate: largest rotation 1-sigma (deg)",
    "max_translation_std_m": "quality gate: largest translation 1-sigma (m)",
    "static_tf": "publish on /tf_static (latched) instead of /tf",
    "tf_republish_hz": "/tf only: re-send the current extrinsic at this rate, stamped now "
    "(keeps TF lookups valid between estimates); 0 = only with new estimates",
    "publish_overlay": "publish ~/<camera>/overlay images",
    "overlay_initial": "overlay: stack the initial extrinsic's projection under the current one",
    "diagnostics_period_s": "period of /diagnostics (s)",
}


@dataclasses.dataclass(frozen=True)
class NodeConfig:
    """Validated node parameters (see DESCRIPTIONS for each field)."""

    cameras: tuple = ("camera",)
    points_topic: str = "points"
    parent_frame: str = ""
    child_frame: str = ""
    direction: str = "cam_lidar"
    initial_xyz: tuple = (0.0, 0.0, 0.0)
    initial_rpy: tuple = (0.0, 0.0, 0.0)
    estimator: str = "auto"
    checkpoint: str = ""
    refine_window: int = 3
    refine_rotation_std_deg: float = 3.0
    refine_translation_std_m: float = 0.15
    refine_translation_starts: int = 1
    refine_mi_weight: float = 3.0
    refine_orientation_leak: float = 0.5  # refine.features.ORIENTATION_LEAK (a test checks)
    refine_min_contrast: float = 1.4
    fuse: bool = True
    drift_nominal: str = "converged"
    drift_threshold: float = 40.0
    device: str = "auto"
    sync_slop_s: float = 0.05
    sync_queue_size: int = 10
    points_offset_s: float = 0.0
    jump_back_s: float = 1.0
    min_inliers: int = 30
    max_rotation_std_deg: float = 2.0
    max_translation_std_m: float = 0.2
    static_tf: bool = False
    tf_republish_hz: float = 0.0
    publish_overlay: bool = True
    overlay_initial: bool = False
    diagnostics_period_s: float = 1.0

    def __post_init__(self) -> None:
        errors = []
        if not self.cameras or len(set(self.cameras)) != len(self.cameras):
            errors.append(f"cameras must be non-empty and unique, got {list(self.cameras)}")
        if self.direction not in DIRECTIONS:
            errors.append(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.estimator not in ESTIMATORS:
            errors.append(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.drift_nominal not in ("converged", "initial", "off"):
            errors.append(
                f"drift_nominal must be converged, initial or off, got {self.drift_nominal!r}"
            )
        for name in ("refine_window", "refine_rotation_std_deg", "refine_translation_std_m"):
            if not getattr(self, name) > 0:
                errors.append(f"{name} must be > 0, got {getattr(self, name)}")
        if self.refine_translation_starts not in range(1, 8):
            errors.append(
                f"refine_translation_starts must be 1-7, got {self.refine_translation_starts}"
            )
        if not (self.refine_mi_weight >= 0 and math.isfinite(self.refine_mi_weight)):
            errors.append(f"refine_mi_weight must be >= 0, got {self.refine_mi_weight}")
        if not 0.0 <= self.refine_orientation_leak <= 1.0:
            errors.append(
                f"refine_orientation_leak must lie in [0, 1], got {self.refine_orientation_leak}"
            )
        if not math.isfinite(self.refine_min_contrast):
            errors.append(f"refine_min_contrast must be finite, got {self.refine_min_contrast}")
        if not (self.tf_republish_hz >= 0 and math.isfinite(self.tf_republish_hz)):
            errors.append(f"tf_republish_hz must be >= 0, got {self.tf_republish_hz}")
        if not self.drift_threshold > 0:
            errors.append(f"drift_threshold must be > 0, got {self.drift_threshold}")
        if self.device not in ("auto", "cpu", "cuda"):
            errors.append(f"device must be auto, cpu or cuda, got {self.device!r}")
        if len(self.initial_xyz) != 3 or len(self.initial_rpy) != 3:
            errors.append("initial_xyz and initial_rpy need 3 numbers each")
        elif not all(math.isfinite(v) for v in (*self.initial_xyz, *self.initial_rpy)):
            errors.append("initial extrinsic has non-finite values")
        for name in ("sync_slop_s", "diagnostics_period_s"):
            if not getattr(self, name) > 0:
                errors.append(f"{name} must be > 0, got {getattr(self, name)}")
        if self.sync_queue_size < 1:
            errors.append(f"sync_queue_size must be >= 1, got {self.sync_queue_size}")
        if self.jump_back_s < 0 or self.min_inliers < 0:
            errors.append("jump_back_s and min_inliers must be >= 0")
        if errors:
            raise ValueError("invalid parameters: " + "; ".join(errors))

    @property
    def T_cam_lidar_initial(self) -> np.ndarray:
        return make_transform(rpy_to_matrix(np.asarray(self.initial_rpy, float)), self.initial_xyz)

    @classmethod
    def from_dict(cls, values: dict) -> NodeConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; valid: {sorted(names)}")
        conv = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**conv)

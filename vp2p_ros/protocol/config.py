"""Configuration of the VP2P data protocol; defaults reproduce the released KITTI evaluation."""

from __future__ import annotations

import dataclasses
import math

__all__ = ["ProtocolConfig", "config_from_dict"]


@dataclasses.dataclass(frozen=True)
class ProtocolConfig:
    """VP2P-Match input protocol (``models/kitti_dataset.py`` of the released code)."""

    image_scale: float = 0.5  # resize factor applied before cropping (cv2 INTER_LINEAR)
    crop_height: int = 160  # px, network input height
    crop_width: int = 512  # px, network input width
    feature_stride: int = 4  # feature / score maps are 1/stride of the input (40 x 128)
    num_points: int = 40960  # points fed to the network (tiled if the scan has fewer)
    voxel_size: float = 0.1  # m, voxel downsampling before sampling; 0 disables it
    normal_radius: float = 0.6  # m, neighbourhood radius for PCA surface normals
    normal_neighbors: int = 30  # max neighbours for a normal; the rest of the radius is ignored
    max_translation: float = 10.0  # m, perturbation t_x, t_z ~ U[-max, max] (t_y = 0); 0 disables
    max_rotation: float = 2 * math.pi  # rad, perturbation yaw about camera y ~ U[-max, max]
    intensity_scale: float = 0.0  # divide intensity by this; 0 = auto (255 if max > 1, else 1)


def config_from_dict(values: dict) -> ProtocolConfig:
    """Build a ProtocolConfig from a dict, rejecting unknown keys.

    Raises:
        ValueError: an unknown key (the message lists the valid ones).
    """
    valid = {f.name for f in dataclasses.fields(ProtocolConfig)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"unknown protocol option(s) {unknown}; valid: {sorted(valid)}")
    return ProtocolConfig(**values)

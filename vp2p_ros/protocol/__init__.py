"""VP2P's data protocol: preprocessing, perturbation and metrics."""

from vp2p_ros.protocol.config import ProtocolConfig, config_from_dict
from vp2p_ros.protocol.metrics import registration_errors, summarize
from vp2p_ros.protocol.preprocess import (
    Vp2pSample,
    estimate_normals,
    make_sample,
    prepare_image,
    random_perturbation,
    sample_indices,
    undistort_image,
    voxel_downsample,
)

__all__ = [
    "ProtocolConfig",
    "Vp2pSample",
    "config_from_dict",
    "estimate_normals",
    "make_sample",
    "prepare_image",
    "random_perturbation",
    "registration_errors",
    "sample_indices",
    "summarize",
    "undistort_image",
    "voxel_downsample",
]

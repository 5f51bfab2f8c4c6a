"""Pure-torch versions of the ops VP2P takes from pointnet2_ops and torchsparse."""

from vp2p_ros.model.ops.point_voxel import initial_voxelize, point_to_voxel, voxel_to_point
from vp2p_ros.model.ops.points import (
    ball_query,
    furthest_point_sample,
    group_points,
    knn,
    three_interpolate,
    three_nn,
)
from vp2p_ros.model.ops.sparse import (
    SparseVoxels,
    kernel_offsets,
    sparse_conv,
    sparse_conv_transposed,
    sparse_downsample_coords,
)

__all__ = [
    "SparseVoxels",
    "ball_query",
    "furthest_point_sample",
    "group_points",
    "initial_voxelize",
    "kernel_offsets",
    "knn",
    "point_to_voxel",
    "sparse_conv",
    "sparse_conv_transposed",
    "sparse_downsample_coords",
    "three_interpolate",
    "three_nn",
    "voxel_to_point",
]

"""Configuration of the VP2P network; defaults reproduce the released KITTI model."""

from __future__ import annotations

import dataclasses

__all__ = ["VP2PConfig", "PRESETS"]


@dataclasses.dataclass(frozen=True)
class VP2PConfig:
    """Options of :class:`VP2PMatchNet`. Channel widths are fixed by the published weights; these
    are the sizes and radii that can change without changing a single parameter shape."""

    num_points: int = 40960  # LiDAR points per sample fed to the network
    image_height: int = 160  # network input image (after resize x0.5 and crop)
    image_width: int = 512
    sa1_npoint: int = 1024  # FPS centres of the first set abstraction
    sa1_nsample: int = 64  # ball-query neighbours per centre
    sa1_radius: float = 20.0  # metres (is_pc_norm=False in the release)
    sa2_npoint: int = 256
    sa2_nsample: int = 32
    sa2_radius: float = 40.0  # metres
    transformer_knn: int = 16  # neighbours of the point-transformer blocks (incl. self)
    voxel_size: float = 0.05  # metres, SPVCNN pres = vres
    voxel_dropout: float = 0.3  # SPVCNN dropout on voxel features in training; 0 disables
    backend: str = "auto"  # "auto" | "torch" | "native" (pointnet2_ops, spconv); see backends

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "torch", "native"):
            raise ValueError(f"backend must be auto, torch or native, got {self.backend!r}")
        if self.sa2_npoint > self.sa1_npoint or self.sa1_npoint > self.num_points:
            raise ValueError("need num_points >= sa1_npoint >= sa2_npoint")
        if self.image_height % 32 or self.image_width % 32:
            raise ValueError("image size must be a multiple of 32 (five stride-2 stages)")

    @classmethod
    def from_dict(cls, d: dict) -> VP2PConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown VP2PConfig keys {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**d)


PRESETS = {
    "kitti": VP2PConfig(),  # the paper / released evaluation
    # same weights, small inputs: unit tests and CPU smoke runs
    "tiny": VP2PConfig(
        num_points=2048, image_height=64, image_width=128, sa1_npoint=128, sa2_npoint=32
    ),
}

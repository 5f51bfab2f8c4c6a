"""Sparse-voxel branch ``voxel_branch`` (SPVCNN, cr = 0.5, voxel 0.05 m) on pure-torch sparse ops.

Parameter names and kernel layouts are torchsparse v2.0.0's (``kernel`` [K, C_in, C_out], no
bias), so the published weights load unchanged. Returns 128-d features per input point.
"""

from __future__ import annotations

import torch
from torch import nn

from vp2p_ros.model import backends
from vp2p_ros.model.config import VP2PConfig
from vp2p_ros.model.ops import (
    SparseVoxels,
    initial_voxelize,
    point_to_voxel,
    voxel_to_point,
)

__all__ = ["VoxelBranch"]


class SparseConv3d(nn.Module):
    """torchsparse ``spnn.Conv3d`` (bias-free; ``transposed`` for the 2x2x2 up-convolutions)."""

    def __init__(self, cin, cout, kernel_size=3, stride=1, transposed=False):
        super().__init__()
        self.kernel_size, self.stride, self.transposed = kernel_size, stride, transposed
        shape = (cin, cout) if kernel_size == 1 else (kernel_size**3, cin, cout)
        self.kernel = nn.Parameter(torch.empty(shape))
        bound = 1.0 / (cin * kernel_size**3) ** 0.5  # torchsparse's uniform init
        nn.init.uniform_(self.kernel, -bound, bound)

    def forward(self, x: SparseVoxels) -> SparseVoxels:
        ops = backends.sparse_ops()
        if self.transposed:
            return ops.sparse_conv_transposed(x, self.kernel)
        return ops.sparse_conv(x, self.kernel, self.kernel_size, self.stride)


class SparseBatchNorm(nn.BatchNorm1d):
    """``spnn.BatchNorm``: BatchNorm1d over the voxel rows of all samples."""

    def forward(self, x: SparseVoxels) -> SparseVoxels:
        return x.with_feats(super().forward(x.feats))


class SparseReLU(nn.Module):
    def forward(self, x: SparseVoxels) -> SparseVoxels:
        return x.with_feats(torch.relu(x.feats))


class BasicConvolutionBlock(nn.Module):
    def __init__(self, cin, cout, ks=3, stride=1):
        super().__init__()
        self.net = nn.Sequential(
            SparseConv3d(cin, cout, ks, stride), SparseBatchNorm(cout), SparseReLU()
        )

    def forward(self, x):
        return self.net(x)


class BasicDeconvolutionBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.net = nn.Sequential(
            SparseConv3d(cin, cout, 2, 2, transposed=True), SparseBatchNorm(cout), SparseReLU()
        )

    def forward(self, x):
        return self.net(x)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.net = nn.Sequential(
            SparseConv3d(cin, cout),
            SparseBatchNorm(cout),
            SparseReLU(),
            SparseConv3d(cout, cout),
            SparseBatchNorm(cout),
        )
        self.downsample = (
            nn.Sequential()
            if cin == cout
            else nn.Sequential(SparseConv3d(cin, cout, 1), SparseBatchNorm(cout))
        )

    def forward(self, x):
        out = self.net(x)
        skip = self.downsample(x) if len(self.downsample) else x
        return out.with_feats(torch.relu(out.feats + skip.feats))


def _cat(a: SparseVoxels, b: SparseVoxels) -> SparseVoxels:
    """torchsparse.cat: features of the same sites side by side."""
    return a.with_feats(torch.cat([a.feats, b.feats], 1))


class VoxelBranch(nn.Module):
    """``voxel_branch`` of VP2PMatchNet."""

    def __init__(self, cfg: VP2PConfig = VP2PConfig()):
        super().__init__()
        cs = [16, 16, 32, 64, 128, 128, 64, 48, 48]  # SPVCNN widths at cr = 0.5
        self.voxel_size = cfg.voxel_size
        self.stem = nn.Sequential(
            SparseConv3d(7, cs[0]),
            SparseBatchNorm(cs[0]),
            SparseReLU(),
            SparseConv3d(cs[0], cs[0]),
            SparseBatchNorm(cs[0]),
            SparseReLU(),
        )
        for i in range(4):  # stage1..4: strided conv, two residual blocks
            cin, cout = cs[i], cs[i + 1]
            stage = nn.Sequential(
                BasicConvolutionBlock(cin, cin, 2, 2),
                ResidualBlock(cin, cout),
                ResidualBlock(cout, cout),
            )
            setattr(self, f"stage{i + 1}", stage)
        skips = [cs[3], cs[2], cs[1], cs[0]]
        for i in range(4):  # up1..4: transposed conv, concat the encoder skip, two residual blocks
            cin, cout = cs[4 + i], cs[5 + i]
            up = nn.ModuleList(
                [
                    BasicDeconvolutionBlock(cin, cout),
                    nn.Sequential(ResidualBlock(cout + skips[i], cout), ResidualBlock(cout, cout)),
                ]
            )
            setattr(self, f"up{i + 1}", up)
        self.classifier = nn.Sequential(nn.Linear(cs[8], 128))
        self.point_transforms = nn.ModuleList(
            [
                nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(True))
                for a, b in ((cs[0], cs[4]), (cs[4], cs[6]), (cs[6], cs[8]))
            ]
        )
        self.dropout = nn.Dropout(cfg.voxel_dropout, inplace=False)

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """xyz (B, N, 3) metres; feats (B, N, 7) xyz/intensity/normals -> (B, 128, N)."""
        B, N, _ = xyz.shape
        # voxel coordinates relative to each sample's minimum corner, rounded (as released)
        coords = torch.round((xyz - xyz.amin(1, keepdim=True)) / self.voxel_size).reshape(-1, 3)
        batch = torch.arange(B, device=xyz.device).repeat_interleave(N)
        f = feats.reshape(B * N, -1)
        x0 = self.stem(initial_voxelize(coords, batch, f))
        z0 = voxel_to_point(x0, coords, batch)
        x1 = self.stage1(point_to_voxel(x0, coords, batch, z0))
        x2 = self.stage2(x1)
        x3 = self.stage3(x2)
        x4 = self.stage4(x3)
        z1 = voxel_to_point(x4, coords, batch) + self.point_transforms[0](z0)
        y = point_to_voxel(x4, coords, batch, z1)
        y = y.with_feats(self.dropout(y.feats))
        y = self.up1[1](_cat(self.up1[0](y), x3))
        y2 = self.up2[1](_cat(self.up2[0](y), x2))
        z2 = voxel_to_point(y2, coords, batch) + self.point_transforms[1](z1)
        y = point_to_voxel(y2, coords, batch, z2)
        y = y.with_feats(self.dropout(y.feats))
        y = self.up3[1](_cat(self.up3[0](y), x1))
        y4 = self.up4[1](_cat(self.up4[0](y), x0))
        z3 = voxel_to_point(y4, coords, batch) + self.point_transforms[2](z2)
        return self.classifier(z3).reshape(B, N, -1).transpose(1, 2)  # (B, 128, N)

"""Point branch ``point_transformer`` (VP2P's PointsEncoder_pointwise, is_pc_norm=False).

Set abstraction (FPS + ball query, radii in metres) with point-transformer blocks, then feature
propagation back to every input point. Per-point 128-d features and a 512-d global feature.
"""

from __future__ import annotations

import torch
from torch import nn

from vp2p_ros.model import backends
from vp2p_ros.model.config import VP2PConfig

__all__ = ["PointBranch"]


class ConvBN(nn.Module):
    """Conv (1x1, with bias) + BN + ReLU, 1-d or 2-d (names ``conv`` / ``bn``)."""

    def __init__(self, cin: int, cout: int, dim: int = 1):
        super().__init__()
        conv, bn = (nn.Conv1d, nn.BatchNorm1d) if dim == 1 else (nn.Conv2d, nn.BatchNorm2d)
        self.conv = conv(cin, cout, 1)
        self.bn = bn(cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class SetAbstraction(nn.Module):
    """FPS centres, ball-query groups (relative xyz ++ features), shared MLP, max pool."""

    def __init__(self, npoint, nsample, radius, cin, widths, group_all=False):
        super().__init__()
        self.npoint, self.nsample, self.radius, self.group_all = npoint, nsample, radius, group_all
        chans = [cin + 3, *widths]
        self.mlp_conv = nn.Sequential(*(ConvBN(a, b, 2) for a, b in zip(chans, chans[1:])))

    def forward(self, xyz: torch.Tensor, feats: torch.Tensor):
        """xyz (B, 3, N), feats (B, C, N) -> new_xyz (B, 3, S), new_feats (B, C', S)."""
        ops = backends.point_ops()
        if self.group_all:  # absolute xyz ++ features, one group around the origin
            grouped = torch.cat([xyz, feats], 1)[..., None, :]  # (B, 3+C, 1, N)
            new_xyz = xyz.new_zeros(xyz.shape[0], 3, 1)
        else:
            xyz_t = xyz.transpose(1, 2).contiguous()  # (B, N, 3)
            idx = ops.furthest_point_sample(xyz_t, self.npoint)  # (B, S)
            new_xyz = ops.group_points(xyz, idx[:, :, None])[..., 0]  # (B, 3, S)
            nbr = ops.ball_query(self.radius, self.nsample, xyz_t, new_xyz.transpose(1, 2))
            rel = ops.group_points(xyz, nbr) - new_xyz[..., None]  # (B, 3, S, K)
            grouped = torch.cat([rel, ops.group_points(feats, nbr)], 1)  # (B, 3+C, S, K)
        return new_xyz, self.mlp_conv(grouped).max(-1).values


class FeaturePropagation(nn.Module):
    """Inverse-distance 3-NN interpolation, concat with the skip features, MLP."""

    def __init__(self, cin: int, widths):
        super().__init__()
        chans = [cin, *widths]
        self.mlp_conv = nn.Sequential(*(ConvBN(a, b, 1) for a, b in zip(chans, chans[1:])))

    def forward(self, xyz1, xyz2, points1, points2):
        """Interpolate ``points2`` (B, C2, m) at xyz2 onto xyz1 (B, 3, n), concat ``points1``."""
        ops = backends.point_ops()
        dist, idx = ops.three_nn(
            xyz1.transpose(1, 2).contiguous(), xyz2.transpose(1, 2).contiguous()
        )
        w = 1.0 / dist.clamp_min(1e-10)
        w = w / w.sum(-1, keepdim=True)
        interp = ops.three_interpolate(points2, idx, w)  # (B, C2, n)
        return self.mlp_conv(torch.cat([interp, points1], 1))


class Transformer(nn.Module):
    """Vector self-attention over the k nearest neighbours (SnowflakeNet style)."""

    def __init__(
        self, cin: int, dim: int = 64, n_knn: int = 16, pos_hidden: int = 64, mult: int = 4
    ):
        super().__init__()
        self.n_knn = n_knn
        self.conv_key = nn.Conv1d(dim, dim, 1)
        self.conv_query = nn.Conv1d(dim, dim, 1)
        self.conv_value = nn.Conv1d(dim, dim, 1)
        self.pos_mlp = nn.Sequential(
            nn.Conv2d(3, pos_hidden, 1),
            nn.BatchNorm2d(pos_hidden),
            nn.ReLU(),
            nn.Conv2d(pos_hidden, dim, 1),
        )
        self.attn_mlp = nn.Sequential(
            nn.Conv2d(dim, dim * mult, 1),
            nn.BatchNorm2d(dim * mult),
            nn.ReLU(),
            nn.Conv2d(dim * mult, dim, 1),
        )
        self.linear_start = nn.Conv1d(cin, dim, 1)
        self.linear_end = nn.Conv1d(dim, cin, 1)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """x (B, C, n) features, pos (B, 3, n) -> (B, C, n)."""
        ops = backends.point_ops()
        identity = x
        x = self.linear_start(x)
        pos_t = pos.transpose(1, 2).contiguous()
        idx = ops.knn(min(self.n_knn, pos.shape[-1]), pos_t, pos_t)  # (B, n, k), self included
        key = ops.group_points(self.conv_key(x), idx)  # (B, d, n, k)
        query = self.conv_query(x)[..., None]
        value = self.conv_value(x)[..., None]  # the centre's value, as released
        pos_emb = self.pos_mlp(pos[..., None] - ops.group_points(pos, idx))
        attn = torch.softmax(self.attn_mlp(query - key + pos_emb), -1)
        return self.linear_end((attn * (value + pos_emb)).sum(-1)) + identity


class PointBranch(nn.Module):
    """``point_transformer`` of VP2PMatchNet."""

    def __init__(self, cfg: VP2PConfig = VP2PConfig()):
        super().__init__()
        k = cfg.transformer_knn
        self.sa_module_1 = SetAbstraction(
            cfg.sa1_npoint, cfg.sa1_nsample, cfg.sa1_radius, 7, [64, 64, 128]
        )
        self.transformer_start_1 = Transformer(128, 64, k)
        self.sa_module_2 = SetAbstraction(
            cfg.sa2_npoint, cfg.sa2_nsample, cfg.sa2_radius, 128, [128, 128, 256]
        )
        self.transformer_start_2 = Transformer(256, 64, k)
        self.sa_module_3 = SetAbstraction(None, None, None, 256, [256, 512, 512], group_all=True)
        self.fp_module_3 = FeaturePropagation(512 + 256, [256, 256])
        self.transformer_end_2 = Transformer(256, 64, k)
        self.fp_module_2 = FeaturePropagation(256 + 128, [256, 128])
        self.transformer_end_1 = Transformer(128, 64, k)
        self.fp_module_1 = FeaturePropagation(128 + 6, [128, 128, 128])
        self.conv_DownFeatureStep1 = ConvBN(128, 128)
        self.conv_DownFeatureStep2 = ConvBN(256, 256)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 7, N) = xyz, intensity, normals -> global (B, 512), per point (B, 128, N)."""
        l0_xyz = x[:, :3]
        l1_xyz, l1 = self.sa_module_1(l0_xyz, x)
        l1 = self.transformer_start_1(l1, l1_xyz)
        l2_xyz, l2 = self.sa_module_2(l1_xyz, l1)
        l2 = self.transformer_start_2(l2, l2_xyz)
        l3_xyz, l3 = self.sa_module_3(l2_xyz, l2)  # (B, 512, 1)
        u2 = self.fp_module_3(l2_xyz, l3_xyz, l2, l3) + self.conv_DownFeatureStep2(l2)
        u2 = self.transformer_end_2(u2, l2_xyz)
        u1 = self.fp_module_2(l1_xyz, l2_xyz, l1, u2) + self.conv_DownFeatureStep1(l1)
        u1 = self.transformer_end_1(u1, l1_xyz)
        u0 = self.fp_module_1(l0_xyz, l1_xyz, torch.cat([l0_xyz, l0_xyz], 1), u1)
        return l3[..., 0], u0

"""VP2PMatchNet: the triplet network (pixel, point and sparse-voxel branches) with its heads.

Module tree, parameter names and shapes equal the released model, so its checkpoint loads with
``load_state_dict(strict=True)``. Forward (see :meth:`VP2PMatchNet.forward`) gives L2-normalised
64-d pixel / point features and sigmoid intersection scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vp2p_ros.model import backends
from vp2p_ros.model.config import VP2PConfig
from vp2p_ros.model.image_branch import ImageBranch
from vp2p_ros.model.point_branch import PointBranch
from vp2p_ros.model.voxel_branch import VoxelBranch

__all__ = ["VP2PMatchNet"]


def _head(dim: int, widths) -> nn.Sequential:
    """Conv(1x1, no bias)-BN-ReLU ... -Conv(1x1, no bias): VP2P's score / feature heads."""
    conv, bn = (nn.Conv1d, nn.BatchNorm1d) if dim == 1 else (nn.Conv2d, nn.BatchNorm2d)
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(conv(a, b, 1, bias=False))
        if i < len(widths) - 2:
            layers += [bn(b), nn.ReLU()]
    return nn.Sequential(*layers)


class VP2PMatchNet(nn.Module):
    """Voxel-point-to-pixel matching network (NeurIPS 2023), re-implemented in pure PyTorch."""

    def __init__(self, cfg: VP2PConfig = VP2PConfig()):
        super().__init__()
        self.cfg = cfg
        self.point_transformer = PointBranch(cfg)
        self.voxel_branch = VoxelBranch(cfg)
        self.resnet = ImageBranch()
        self.pc_score_head = nn.Sequential(*_head(1, [640, 128, 64, 1]), nn.Sigmoid())
        self.img_score_head = nn.Sequential(*_head(2, [576, 128, 64, 1]), nn.Sigmoid())
        self.img_feature_layer = _head(2, [64, 64, 64, 64])
        self.pc_feature_layer = _head(1, [128, 128, 128, 64])

    def forward(self, data: dict) -> dict:
        """Run the three branches and the heads.

        Args:
            data: ``points`` (B, N, 3) metres, LiDAR (perturbed input) frame; ``intensity``
                (B, N) raw reflectance; ``normals`` (B, N, 3); ``image`` (B, 3, H, W) RGB in
                [0, 1], H and W multiples of 32 (160 x 512 for the released model).

        Returns:
            ``pixel_features`` (B, 64, H/4, W/4) and ``point_features`` (B, 64, N), unit length
            over channels; ``pixel_scores`` (B, H/4, W/4) and ``point_scores`` (B, N) in (0, 1);
            ``global_image`` (B, 512) and ``global_points`` (B, 512).
        """
        pts, img = data["points"], data["image"]
        feats = torch.cat([pts, data["intensity"][..., None], data["normals"]], -1)  # (B, N, 7)
        with backends.selected(self.cfg.backend, pts.is_cuda):
            global_pc, point_feat = self.point_transformer(feats.transpose(1, 2))
            point_feat = point_feat + self.voxel_branch(pts, feats)  # (B, 128, N)
        global_img, pixel_feat = self.resnet(img)  # (B, 512), (B, 64, H/4, W/4)
        B, _, h, w = pixel_feat.shape
        n = point_feat.shape[-1]
        img_in = torch.cat([pixel_feat, global_pc[:, :, None, None].expand(B, 512, h, w)], 1)
        pc_in = torch.cat([point_feat, global_img[:, :, None].expand(B, 512, n)], 1)
        return {
            "pixel_features": F.normalize(self.img_feature_layer(pixel_feat), dim=1),
            "point_features": F.normalize(self.pc_feature_layer(point_feat), dim=1),
            "pixel_scores": self.img_score_head(img_in)[:, 0],
            "point_scores": self.pc_score_head(pc_in)[:, 0],
            "global_image": global_img,
            "global_points": global_pc,
        }

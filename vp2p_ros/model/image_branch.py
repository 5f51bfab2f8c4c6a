"""Pixel branch ``resnet`` (VP2P's Image_ResNet): ResNet-34 encoder + upsampling decoder.

Input (B, 3, H, W) RGB in [0, 1] (no mean/std normalisation, as released). Outputs 64-d pixel
features at 1/4 resolution and the 512-d global image feature (average pool of layer4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ImageBranch"]


def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock (names conv1/bn1/conv2/bn2/downsample)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet34(nn.Module):
    """ResNet-34 with torchvision's parameter names (incl. the unused ``fc`` of the checkpoint)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, blocks, cin = (64, 128, 256, 512), (3, 4, 6, 3), 64
        for i, (w, n) in enumerate(zip(widths, blocks), start=1):
            layers = [BasicBlock(cin, w, 1 if i == 1 else 2)]
            layers += [BasicBlock(w, w) for _ in range(n - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layers))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)  # in the checkpoint, never used in forward


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = ResNet34()


class ResidualConv(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + (conv3x3-BN skip), add, ReLU; no biases."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv_skip = nn.Sequential(_conv3x3(cin, cout), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.conv_skip(x))


class ImageUpSample(nn.Module):
    """Bilinear x2 of the coarse map, concat with the skip, two ResidualConv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Sequential(ResidualConv(cin, cout), ResidualConv(cout, cout))

    def forward(self, coarse, skip):
        up = F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv(torch.cat([up, skip], 1))


class ImageBranch(nn.Module):
    """``resnet`` of VP2PMatchNet."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.up_conv1 = ImageUpSample(512 + 256, 256)
        self.up_conv2 = ImageUpSample(256 + 128, 128)
        self.up_conv3 = ImageUpSample(128 + 64 + 64, 64)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) -> global (B, 512), pixel features (B, 64, H/4, W/4)."""
        r = self.encoder.backbone
        s2 = r.relu(r.bn1(r.conv1(img)))  # (B, 64, H/2, W/2)
        s4 = r.layer1(r.maxpool(s2))  # (B, 64, H/4, W/4)
        s8 = r.layer2(s4)
        s16 = r.layer3(s8)
        s32 = r.layer4(s16)  # (B, 512, H/32, W/32)
        global_img = r.avgpool(s32).flatten(1)  # (B, 512)
        x = self.up_conv1(s32, s16)
        x = self.up_conv2(x, s8)
        skip = torch.cat([s4, F.interpolate(s2, scale_factor=0.5)], 1)  # nearest, (B,128,H/4,W/4)
        return global_img, self.up_conv3(x, skip)

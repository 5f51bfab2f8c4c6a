"""Training pairs: a frame -> VP2P's network input with a random perturbation -> mined keypoints.

Each item is drawn with ``rng = default_rng([seed, epoch, index])`` so a run is reproducible and
every epoch sees new perturbations, crops and point subsets of the same frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from vp2p_ros.data import Frame
from vp2p_ros.protocol import ProtocolConfig, make_sample
from vp2p_ros.train.losses import mine_pairs

__all__ = ["PairDataset"]


class PairDataset(torch.utils.data.Dataset):
    """Frames (or frame loaders, called lazily) -> dicts of tensors for :func:`train_step`.

    Args:
        frames: ``Frame`` objects or zero-argument callables returning one.
        protocol: network input protocol (must match the model config's sizes).
        keypoints: in/out keypoints per modality (512 in the paper).
        seed: base seed; ``set_epoch`` changes the draws per epoch.
    """

    def __init__(
        self,
        frames: Sequence[Frame | Callable[[], Frame]],
        protocol: ProtocolConfig,
        keypoints: int = 512,
        seed: int = 0,
    ):
        self.frames, self.protocol, self.keypoints, self.seed = (
            list(frames),
            protocol,
            keypoints,
            seed,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        f = self.frames[index]
        frame = f() if callable(f) else f
        rng = np.random.default_rng([self.seed, self.epoch, index])
        for _ in range(10):  # a perturbation can move the whole scan out of view: draw again
            s = make_sample(frame, self.protocol, rng=rng, train=True)
            pairs = mine_pairs(s.points, s.P, s.camera_feat, rng, self.keypoints)
            if pairs is not None and len(pairs.pixel_out) and len(pairs.point_out):
                break
        else:
            raise ValueError(f"frame {index} ({frame.name}) never overlaps its image")
        arrays = {
            "points": s.points,
            "intensity": s.intensity,
            "normals": s.normals,
            "image": s.image,
            "P": s.P.astype(np.float32),
            "K4": s.camera_feat.K.astype(np.float32),  # intrinsics of the feature map
            "pixel_in": pairs.pixel_in,
            "pixel_out": pairs.pixel_out,
            "point_in": pairs.point_in,
            "point_out": pairs.point_out,
            "positive": pairs.positive,
        }
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}

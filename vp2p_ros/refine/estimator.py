"""Edge-alignment refinement behind the ``Estimator`` interface (node, CLIs): weight-free.

Keeps the last ``window`` frames (prepared once) and refines jointly on them around the prior,
so translation becomes observable as the vehicle moves. A result whose alignment contrast (how much
better the optimum is than poses 1 deg / 5 cm away) is below ``min_contrast`` is reported as
``low_contrast`` instead of a pose.
"""

from __future__ import annotations

import collections
import dataclasses
import time

import numpy as np

from vp2p_ros.calib.estimate import Estimate
from vp2p_ros.data import Frame
from vp2p_ros.refine.align import RefineConfig, prepare, refine

__all__ = ["RefineEstimator"]


class RefineEstimator:
    """``estimate(frame, prior) -> Estimate`` by multi-frame edge alignment.

    Args:
        config: search settings.
        window: frames refined jointly (the newest ones).
        min_contrast: quality floor of :attr:`RefineResult.contrast`.
        edge_options: :func:`~vp2p_ros.refine.features.lidar_edges` settings for every frame
            (e.g. ``boundary_shift=(0.5, 0.5)`` for a LiDAR with ideal thin beams); None: its
            defaults.
    """

    name = "edge_refinement"

    def __init__(
        self,
        config: RefineConfig = RefineConfig(),
        window: int = 3,
        min_contrast=1.4,
        edge_options: dict | None = None,
    ):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.config, self.min_contrast = config, float(min_contrast)
        self.edge_options = dict(edge_options or {})
        self.frames: collections.deque = collections.deque(maxlen=window)
        self.calls = 0

    @property
    def window(self) -> int:
        """Frames each estimate is aligned on (the newest ones)."""
        return self.frames.maxlen

    def estimate(self, frame: Frame, prior: np.ndarray) -> Estimate:
        t0 = time.perf_counter()
        self.frames.append(prepare([frame], self.config.sigmas_px, **self.edge_options)[0])
        cfg = dataclasses.replace(self.config, seed=self.config.seed + self.calls)
        self.calls += 1
        if sum(len(d.points) for d in self.frames) < 20:
            return Estimate("too_few_edges", estimator=self.name, message="no LiDAR edges")
        r = refine(list(self.frames), prior, cfg)
        status = "ok" if r.contrast >= self.min_contrast else "low_contrast"
        return Estimate(
            status,
            r.T_cam_lidar if status == "ok" else None,
            r.covariance,
            r.num_edges,
            r.num_in_view,
            self.name,
            time.perf_counter() - t0,
            f"{len(self.frames)} frames, contrast {r.contrast:.2f}, score {r.score:.3f}",
        )

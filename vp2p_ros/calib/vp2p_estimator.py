"""VP2P as an :class:`Estimator`: network -> matches -> probabilistic PnP, around a prior.

The LiDAR points are moved into the camera frame with the prior extrinsic (VP2P works in the
camera frame), the network and the released selection / matching run on that input, and the
probabilistic PnP solves ``T_cam_input`` at feature-map resolution. The result is
``T_cam_lidar = T_cam_input @ T_prior`` with the covariance carried through the composition.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from vp2p_ros.calib.estimate import Estimate
from vp2p_ros.data import Frame
from vp2p_ros.geometry import covariance_of_composition
from vp2p_ros.model import VP2PMatchNet
from vp2p_ros.protocol import ProtocolConfig, Vp2pSample, make_sample
from vp2p_ros.solvers import ProbabilisticConfig, select_and_match, solve_pnp_probabilistic

__all__ = ["Vp2pEstimator", "network_inputs"]


def network_inputs(sample: Vp2pSample, device="cpu") -> dict:
    """The forward() dict of :class:`VP2PMatchNet` for one sample (batch of 1)."""
    arrays = {
        "points": sample.points,
        "intensity": sample.intensity,
        "normals": sample.normals,
        "image": sample.image,
    }
    return {k: torch.from_numpy(v)[None].to(device) for k, v in arrays.items()}


class Vp2pEstimator:
    """Single-frame VP2P estimate with a calibrated covariance.

    Args:
        model: the network (eval mode is set here).
        protocol: input protocol (must match ``model.cfg`` sizes).
        solver: probabilistic PnP options (defaults: the released 500 x 1 px RANSAC).
        device: torch device.
        seed: seeds the point sampling of the protocol.
    """

    name = "vp2p"

    def __init__(
        self,
        model: VP2PMatchNet,
        protocol: ProtocolConfig | None = None,
        solver: ProbabilisticConfig = ProbabilisticConfig(),
        device: str = "cpu",
        seed: int = 0,
    ):
        cfg = model.cfg
        self.protocol = protocol or ProtocolConfig(
            crop_height=cfg.image_height, crop_width=cfg.image_width, num_points=cfg.num_points
        )
        self.model = model.to(device).eval()
        self.solver, self.device, self.seed = solver, device, seed

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", **kwargs) -> Vp2pEstimator:
        """Load a checkpoint; ours carry the input protocol they were trained with (image scale,
        crop, points), which is used here with the perturbation off."""
        from vp2p_ros.model.weights import load_model
        from vp2p_ros.protocol.config import config_from_dict

        model, meta = load_model(path)
        protocol = None
        if "json_protocol" in meta:
            protocol = config_from_dict(meta["json_protocol"])
        return cls(model, protocol, device=device, **kwargs)

    def estimate(self, frame: Frame, prior: np.ndarray) -> Estimate:
        t0 = time.perf_counter()
        prior = np.asarray(prior, dtype=np.float64)
        framed = dataclasses.replace(frame, T_cam_lidar=prior)
        sample = make_sample(
            framed, self.protocol, rng=np.random.default_rng(self.seed), perturb=False
        )
        with torch.inference_mode():
            out = self.model(network_inputs(sample, self.device))
        uv, idx = select_and_match(
            out["pixel_features"][0].float().cpu().numpy(),
            out["point_features"][0].float().cpu().numpy(),
            out["pixel_scores"][0].float().cpu().numpy(),
            out["point_scores"][0].float().cpu().numpy(),
            self.solver.ransac,
        )
        pts = sample.points[idx].astype(np.float64)
        res = solve_pnp_probabilistic(uv, pts, sample.camera_feat, cfg=self.solver)
        latency = time.perf_counter() - t0
        if not res.ok:
            return Estimate(
                res.status,
                num_matches=res.num_matches,
                num_inliers=res.num_inliers,
                estimator=self.name,
                latency_s=latency,
                message=f"{len(uv)} matches",
            )
        T = res.T_cam_lidar @ prior
        cov = covariance_of_composition(res.T_cam_lidar, prior, res.covariance)
        return Estimate(
            "ok",
            T,
            cov,
            res.num_matches,
            res.num_inliers,
            self.name,
            latency,
            f"sigma {res.sigma_px:.2f} px on the 1/4 map",
        )

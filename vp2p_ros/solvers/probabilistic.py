"""Probabilistic PnP for one image: RANSAC start, robust LM, pose covariance.

The pipeline a calibration needs from a set of 2-D–3-D matches::

    EPnP-RANSAC on undistorted pixels (any camera model)  ->  start pose + inliers
    LM on the robust cost through the real camera model   ->  T_cam_lidar
    pixel noise sigma (given, or estimated from the inlier residuals)
    Laplace covariance  ->  AMIS Monte-Carlo covariance   ->  6x6, ROS order, camera frame

Failure is a result: too few matches, non-finite input, degenerate geometry, RANSAC failure or too
few inliers give a ``status`` and no pose.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from vp2p_ros.camera import CameraModel, CameraTensors
from vp2p_ros.solvers.lm import LMConfig, solve_lm
from vp2p_ros.solvers.pnp_cost import PnPProblem, reprojection_terms
from vp2p_ros.solvers.pose_dist import AMISConfig, laplace_covariance, sample_pose_distribution
from vp2p_ros.solvers.reference import ReferenceConfig, solve_pnp_ransac, spread_ok

__all__ = ["PoseEstimate", "ProbabilisticConfig", "solve_pnp_probabilistic"]

COVARIANCE_SOURCES = ("monte_carlo", "laplace")


@dataclasses.dataclass(frozen=True)
class ProbabilisticConfig:
    """Options of :func:`solve_pnp_probabilistic` (pixels are those of the given camera)."""

    ransac: ReferenceConfig = ReferenceConfig()  # start: iterations, threshold (px), min counts
    inlier_threshold_px: float | None = None  # final inlier test on |residual|; None: RANSAC's
    sigma_px: float | None = None  # pixel noise (1 sigma per axis); None: estimate from inliers
    huber_delta: float = 3.0  # Huber threshold in sigmas; float("inf") for least squares
    lm: LMConfig = LMConfig()
    amis: AMISConfig = AMISConfig()
    covariance: str = "monte_carlo"  # "monte_carlo" (AMIS) or "laplace" (inverse GN Hessian)
    min_ess: float = 32.0  # fewer effective MC samples -> fall back to the Laplace covariance
    min_information_ratio: float = 1e-10  # smallest/largest Hessian eigenvalue, else degenerate
    seed: int = 0  # RANSAC and Monte-Carlo seed

    def __post_init__(self) -> None:
        if self.covariance not in COVARIANCE_SOURCES:
            raise ValueError(
                f"covariance must be one of {COVARIANCE_SOURCES}, got {self.covariance!r}"
            )


@dataclasses.dataclass
class PoseEstimate:
    """A pose with its uncertainty; ``T_cam_lidar`` / covariances are None unless ``ok``.

    Attributes:
        status: "ok" or the reason of failure.
        T_cam_lidar: (4, 4) maps LiDAR points into the camera frame.
        covariance: (6, 6) ROS order (x, y, z, rot-x, rot-y, rot-z), camera (parent) frame.
        covariance_laplace: (6, 6) the inverse Gauss-Newton Hessian, same chart.
        covariance_source: "monte_carlo" or "laplace" (what ``covariance`` is).
        inliers: (M,) bool.
        num_matches, num_inliers: counts.
        sigma_px: pixel noise used (given or estimated).
        rms_px: RMS inlier reprojection error (px).
        ess: effective Monte-Carlo sample size (0 when not sampled).
        iterations: LM steps of the final solve.
    """

    status: str
    T_cam_lidar: np.ndarray | None = None
    covariance: np.ndarray | None = None
    covariance_laplace: np.ndarray | None = None
    covariance_source: str = ""
    inliers: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    num_matches: int = 0
    num_inliers: int = 0
    sigma_px: float = float("nan")
    rms_px: float = float("nan")
    ess: float = 0.0
    iterations: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _start_by_ransac(uv, points, camera, cfg):
    """EPnP-RANSAC on pixels moved to a distortion-free camera with the same K."""
    if camera.is_pinhole:
        uv_pin, usable = uv, np.ones(len(uv), bool)
    else:
        rays = camera.unproject(uv)  # (M, 3) with z = 1, NaN where distortion cannot be inverted
        usable = np.all(np.isfinite(rays), axis=1)
        uv_pin = (rays @ camera.K.T)[:, :2]
    res = solve_pnp_ransac(uv_pin[usable], points[usable], camera.K, cfg.ransac, rng_seed=cfg.seed)
    inliers = np.zeros(len(uv), bool)
    inliers[usable] = res.inliers
    return res.status, res.T_cam_lidar, inliers


def solve_pnp_probabilistic(
    uv: np.ndarray,
    points: np.ndarray,
    camera: CameraModel,
    *,
    weights: np.ndarray | None = None,
    T_init: np.ndarray | None = None,
    cfg: ProbabilisticConfig = ProbabilisticConfig(),
    device: str | torch.device = "cpu",
) -> PoseEstimate:
    """Estimate ``T_cam_lidar`` and its covariance from 2-D–3-D matches.

    Args:
        uv: (M, 2) pixels of ``camera`` (distorted, as observed).
        points: (M, 3) metres, LiDAR frame.
        camera: the camera model (any distortion model of the core).
        weights: (M,) or (M, 2) relative confidences (e.g. a network's), multiplied with
            ``1 / sigma``; None for equal weights.
        T_init: (4, 4) start pose; None runs EPnP-RANSAC.
        cfg: options.
        device: torch device for LM and sampling.

    Returns:
        PoseEstimate.
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    m = len(uv)
    if len(points) != m:
        raise ValueError(f"{m} pixels but {len(points)} points")
    base = (
        np.ones((m, 2))
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=np.float64).reshape(m, -1), (m, 2))
    )
    fail = dict(inliers=np.zeros(m, bool), num_matches=m)
    if m < cfg.ransac.min_matches:
        return PoseEstimate("too_few_matches", **fail)
    if not (np.isfinite(uv).all() and np.isfinite(points).all() and np.isfinite(base).all()):
        return PoseEstimate("non_finite_input", **fail)
    if not spread_ok(points, cfg.ransac.min_spread):
        return PoseEstimate("degenerate_geometry", **fail)
    if T_init is None:
        status, T0, inliers = _start_by_ransac(uv, points, camera, cfg)
        if T0 is None:
            return PoseEstimate(
                status, inliers=inliers, num_matches=m, num_inliers=int(inliers.sum())
            )
    else:
        T0, inliers = np.asarray(T_init, dtype=np.float64), np.ones(m, bool)

    tt = dict(dtype=torch.float64, device=device)
    cam = CameraTensors.from_model(camera, **tt)
    uv_t, pts_t = torch.tensor(uv, **tt)[None], torch.tensor(points, **tt)[None]
    base_t = torch.tensor(np.ascontiguousarray(base), **tt)[None]
    threshold = cfg.inlier_threshold_px or cfg.ransac.reprojection_error

    def inlier_problem(inl, sigma):  # only the inliers: outliers would cost time, not change
        idx = torch.as_tensor(np.nonzero(inl)[0], device=device)
        sub = (x[:, idx] for x in (uv_t, pts_t, base_t / sigma))
        return PnPProblem(*sub, cam, cfg.huber_delta)

    def refine(T, inl, sigma):
        return solve_lm(T, inlier_problem(inl, sigma), cfg.lm)

    sigma = cfg.sigma_px or 1.0
    T = torch.tensor(T0, **tt)[None]
    if T_init is not None:  # a prior may be far off: a robust solve on everything first
        T = refine(T, inliers, sigma).T_cam_lidar
    # classify at the start pose (RANSAC's is already refitted on its inliers), estimate sigma
    r, _, valid = reprojection_terms(T, PnPProblem(uv_t, pts_t, base_t, cam), jacobian=False)
    err = r[0].norm(dim=-1).cpu().numpy()  # weighted by the relative confidences only
    inliers = (err < threshold) & valid[0].cpu().numpy()
    n_in = int(inliers.sum())
    if n_in < cfg.ransac.min_inliers:
        return PoseEstimate("too_few_inliers", inliers=inliers, num_matches=m, num_inliers=n_in)

    def sigma_from(e):  # unbiased per-axis sigma of 2-D residuals with 6 fitted parameters
        return max(float(np.sqrt((e**2).sum() / max(2 * len(e) - 6, 1))), 1e-6)

    if cfg.sigma_px is None:
        sigma = sigma_from(err[inliers])
    lm = refine(T, inliers, sigma)
    if cfg.sigma_px is None:  # re-estimate at the optimum; the information scales as 1/sigma^2
        new_sigma = sigma_from(lm.residuals[0].norm(dim=-1).cpu().numpy() * sigma)
        lm.hessian = lm.hessian * (sigma / new_sigma) ** 2
        lm.residuals = lm.residuals * (sigma / new_sigma)
        sigma = new_sigma
    H = lm.hessian
    evals = torch.linalg.eigvalsh(0.5 * (H + H.transpose(-1, -2)))[0]
    if not bool(torch.isfinite(evals).all()) or evals[0] <= cfg.min_information_ratio * evals[-1]:
        return PoseEstimate(
            "degenerate_geometry", inliers=inliers, num_matches=m, num_inliers=n_in
        )
    cov_lap = laplace_covariance(H)
    cov, source, ess = cov_lap, "laplace", 0.0
    if cfg.covariance == "monte_carlo":
        gen = torch.Generator(device=device).manual_seed(cfg.seed)
        samples = sample_pose_distribution(
            lm.T_cam_lidar, cov_lap, inlier_problem(inliers, sigma), cfg.amis, generator=gen
        )
        ess = float(samples.ess[0])
        if ess >= cfg.min_ess and bool(torch.isfinite(samples.covariance).all()):
            cov, source = samples.covariance, "monte_carlo"
    err = lm.residuals[0].norm(dim=-1).cpu().numpy() * sigma  # inliers only
    rms = float(np.sqrt(np.mean(err**2)))
    return PoseEstimate(
        status="ok",
        T_cam_lidar=lm.T_cam_lidar[0].cpu().numpy(),
        covariance=cov[0].cpu().numpy(),
        covariance_laplace=cov_lap[0].cpu().numpy(),
        covariance_source=source,
        inliers=inliers,
        num_matches=m,
        num_inliers=n_in,
        sigma_px=float(sigma),
        rms_px=rms,
        ess=ess,
        iterations=int(lm.iterations[0]),
    )

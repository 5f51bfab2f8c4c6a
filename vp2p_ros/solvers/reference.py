"""VP2P's released inference (``run_kitti.py::test_acc_trans``): select, match, EPnP + RANSAC.

Steps, exactly as released: keep pixels / points whose intersection score exceeds 0.95; cap
them at 2800 / 8500 keeping the *first* ones in raster / storage order (not the best); match every
kept pixel to its nearest point by cosine distance (many-to-one allowed, no ratio test); solve
``cv2.solvePnPRansac(EPNP, 500 iterations, 1 px)`` at feature-map resolution with ``K_4``.
Unlike the original, failure is a result (``status`` with a reason), never an exception.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vp2p_ros.geometry import make_transform, so3_exp

__all__ = ["ReferenceConfig", "PnPResult", "select_and_match", "solve_pnp_ransac", "spread_ok"]


@dataclasses.dataclass(frozen=True)
class ReferenceConfig:
    """Options of the released inference; defaults are run_kitti.py's."""

    img_thres: float = 0.95  # keep pixels with intersection score above this
    pc_thres: float = 0.95  # keep points with intersection score above this
    max_pixels: int = 2800  # cap on kept pixels (first in raster order)
    max_points: int = 8500  # cap on kept points (first in storage order)
    ransac_iterations: int = 500  # cv2.solvePnPRansac iterationsCount
    reprojection_error: float = 1.0  # px at feature-map resolution (1/4 of the input)
    confidence: float = 0.99  # RANSAC confidence (OpenCV default)
    min_matches: int = 6  # fewer correspondences -> status "too_few_matches"
    min_inliers: int = 6  # fewer RANSAC inliers -> status "too_few_inliers"
    min_spread: float = 1e-3  # smallest/largest singular value of the 3-D spread (collinearity)


@dataclasses.dataclass
class PnPResult:
    """Outcome of a PnP solve; ``T_cam_lidar`` is None unless ``status == "ok"``.

    Attributes:
        status: "ok" or the reason of failure (too_few_matches, non_finite_input,
            degenerate_geometry, ransac_failed, too_few_inliers).
        T_cam_lidar: (4, 4) maps the input points into the camera frame.
        inliers: (M,) bool over the correspondences.
        num_matches, num_inliers: counts.
    """

    status: str
    T_cam_lidar: np.ndarray | None
    inliers: np.ndarray
    num_matches: int
    num_inliers: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def select_and_match(
    pixel_feat: np.ndarray,
    point_feat: np.ndarray,
    img_score: np.ndarray,
    pc_score: np.ndarray,
    cfg: ReferenceConfig = ReferenceConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Select confident pixels and points and match each pixel to its nearest point.

    Args:
        pixel_feat: (C, H, W) L2-normalised pixel features (feature-map resolution).
        point_feat: (C, N) L2-normalised point features.
        img_score: (H, W) pixel intersection scores in [0, 1].
        pc_score: (N,) point intersection scores.
        cfg: thresholds and caps.

    Returns:
        uv: (M, 2) float64 pixel coordinates (x = column, y = row) on the feature map.
        point_idx: (M,) int64 index of the matched point for each pixel.
    """
    C, H, W = pixel_feat.shape
    if point_feat.shape[0] != C:
        raise ValueError(f"pixel features have {C} channels, point features {point_feat.shape[0]}")
    ys, xs = np.meshgrid(
        np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64), indexing="ij"
    )
    grid = np.stack([xs.ravel(), ys.ravel()], -1)  # (H*W, 2), row-major
    pix = np.nonzero(img_score.reshape(-1) > cfg.img_thres)[0][: cfg.max_pixels]
    pts = np.nonzero(pc_score.reshape(-1) > cfg.pc_thres)[0][: cfg.max_points]
    if len(pix) == 0 or len(pts) == 0:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    f = pixel_feat.reshape(C, -1)[:, pix].astype(np.float32)  # (C, P)
    g = point_feat[:, pts].astype(np.float32)  # (C, Q)
    nearest = np.argmax(f.T @ g, axis=1)  # argmin(1 - f.g) == argmax(f.g)
    return grid[pix], pts[nearest]


def spread_ok(points: np.ndarray, min_ratio: float) -> bool:
    """False for (near-)collinear or coincident points: 2nd/1st singular value <= min_ratio."""
    s = np.linalg.svd(points - points.mean(0), compute_uv=False)
    return bool(s[0] > 0 and s[1] / s[0] > min_ratio)


def solve_pnp_ransac(
    uv: np.ndarray,
    points: np.ndarray,
    K: np.ndarray,
    cfg: ReferenceConfig = ReferenceConfig(),
    *,
    rng_seed: int | None = 0,
) -> PnPResult:
    """EPnP inside RANSAC, as the released evaluation calls it.

    Args:
        uv: (M, 2) pixels (at the resolution ``K`` describes).
        points: (M, 3) metres, input (LiDAR / perturbed) frame.
        K: (3, 3) pinhole intrinsics of ``uv``.
        cfg: RANSAC options.
        rng_seed: seeds OpenCV's RNG so runs are repeatable (None leaves it alone).

    Returns:
        PnPResult; failures have ``T_cam_lidar=None`` and a reason in ``status``.
    """
    import cv2

    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    m = len(uv)
    none = np.zeros(m, bool)
    if len(points) != m:
        raise ValueError(f"{m} pixels but {len(points)} points")
    if m < cfg.min_matches:
        return PnPResult("too_few_matches", None, none, m, 0)
    if not (np.all(np.isfinite(uv)) and np.all(np.isfinite(points))):
        return PnPResult("non_finite_input", None, none, m, 0)
    if not spread_ok(points, cfg.min_spread):
        return PnPResult("degenerate_geometry", None, none, m, 0)
    if rng_seed is not None:
        cv2.setRNGSeed(int(rng_seed))
    ok, rvec, tvec, idx = cv2.solvePnPRansac(
        points,
        uv,
        np.asarray(K, dtype=np.float64),
        None,
        useExtrinsicGuess=False,
        iterationsCount=cfg.ransac_iterations,
        reprojectionError=cfg.reprojection_error,
        confidence=cfg.confidence,
        flags=cv2.SOLVEPNP_EPNP,
    )
    if not ok or idx is None or not np.all(np.isfinite(rvec)) or not np.all(np.isfinite(tvec)):
        return PnPResult("ransac_failed", None, none, m, 0)
    inliers = np.zeros(m, bool)
    inliers[idx.ravel()] = True
    if inliers.sum() < cfg.min_inliers:
        return PnPResult("too_few_inliers", None, inliers, m, int(inliers.sum()))
    T = make_transform(so3_exp(rvec.ravel()), tvec.ravel())
    return PnPResult("ok", T, inliers, m, int(inliers.sum()))

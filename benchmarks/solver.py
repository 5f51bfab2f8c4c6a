"""Time the pose solvers on the released match budget (2 800 matches), vs plain OpenCV.

Run::

    python -m benchmarks.solver                 # 2800 matches, 30 % outliers, 50 repeats
    python -m benchmarks.solver --matches 500 --repeats 100 --device cuda

The problem is a seeded synthetic scene on VP2P's 40x128 feature map (K_4), sigma = 0.5 px.
Each row is timed separately (median and 90th percentile of ``--repeats`` runs after a warm-up);
the ratio column is against ``cv2.solvePnPRansac`` (EPnP, same iterations and threshold) timed in
the same run. Target (issue 5): RANSAC + LM + covariance <= 20 ms on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vp2p_ros.camera import CameraModel, CameraTensors
from vp2p_ros.geometry import se3_exp, transform_points
from vp2p_ros.protocol import registration_errors
from vp2p_ros.solvers import (
    PnPProblem,
    ProbabilisticConfig,
    laplace_covariance,
    sample_pose_distribution,
    solve_lm,
    solve_pnp_probabilistic,
    solve_pnp_ransac,
)

K4 = np.array([[90.2, 0, 62.7], [0, 90.2, 18.1], [0, 0, 1]])


def make_scene(rng, n, sigma, outlier_frac):
    T = se3_exp(np.r_[rng.uniform(-5, 5, 3), rng.uniform(-0.5, 0.5, 3)])
    z = rng.uniform(4, 40, n)
    pc = np.c_[rng.uniform(-0.65, 0.65, n) * z, rng.uniform(-0.2, 0.2, n) * z, z]
    uv = (pc / z[:, None]) @ K4.T
    uv = uv[:, :2] + rng.normal(scale=sigma, size=(n, 2))
    bad = rng.random(n) < outlier_frac
    uv[bad] = rng.uniform([0, 0], [128, 40], size=(bad.sum(), 2))
    return uv, transform_points(np.linalg.inv(T), pc), T


def timed(fn, repeats, sync):
    fn()
    out, times = None, []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * np.median(times), 1e3 * np.percentile(times, 90), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matches", type=int, default=2800)
    ap.add_argument("--outliers", type=float, default=0.3)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    import cv2

    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    uv, pts, T_true = make_scene(np.random.default_rng(0), args.matches, args.sigma, args.outliers)
    camera = CameraModel(128, 40, K4, [])
    cfg = ProbabilisticConfig()

    def cv2_plain():
        cv2.setRNGSeed(0)
        return cv2.solvePnPRansac(
            pts, uv, K4, None, iterationsCount=500, reprojectionError=1.0, flags=cv2.SOLVEPNP_EPNP
        )

    ransac = solve_pnp_ransac(uv, pts, K4)
    tt = dict(dtype=torch.float64, device=dev)
    w = torch.tensor(ransac.inliers, **tt)[None, :, None].expand(1, -1, 2) / args.sigma
    problem = PnPProblem(
        torch.tensor(uv, **tt)[None],
        torch.tensor(pts, **tt)[None],
        w.contiguous(),
        CameraTensors.from_model(camera, **tt),
    )
    T0 = torch.tensor(ransac.T_cam_lidar, **tt)[None]
    lm = solve_lm(T0, problem)
    cov = laplace_covariance(lm.hessian)
    gen = torch.Generator(device=dev)

    rows = [
        ("cv2.solvePnPRansac (EPnP, baseline)", cv2_plain),
        ("reference RANSAC (solve_pnp_ransac)", lambda: solve_pnp_ransac(uv, pts, K4)),
        ("LM from the RANSAC pose", lambda: solve_lm(T0, problem)),
        ("Laplace covariance (H^-1)", lambda: laplace_covariance(lm.hessian)),
        (
            f"Monte-Carlo covariance (AMIS {cfg.amis.num_samples})",
            lambda: sample_pose_distribution(
                lm.T_cam_lidar, cov, problem, generator=gen.manual_seed(0)
            ),
        ),
        (
            "pipeline: RANSAC + LM + Laplace",
            lambda: solve_pnp_probabilistic(
                uv, pts, camera, cfg=ProbabilisticConfig(covariance="laplace"), device=dev
            ),
        ),
        (
            "pipeline: RANSAC + LM + Monte Carlo",
            lambda: solve_pnp_probabilistic(uv, pts, camera, cfg=cfg, device=dev),
        ),
    ]
    print(
        f"{args.matches} matches, {args.outliers:.0%} outliers, sigma {args.sigma} px, "
        f"device {dev}, torch threads {torch.get_num_threads()}, {args.repeats} repeats"
    )
    print(f"{'step':40s} {'median ms':>10s} {'p90 ms':>8s} {'x cv2':>7s}")
    base = None
    results = {}
    for name, fn in rows:
        med, p90, out = timed(fn, args.repeats, sync)
        base = base or med
        results[name] = out
        print(f"{name:40s} {med:10.2f} {p90:8.2f} {med / base:7.2f}")
    est = results["pipeline: RANSAC + LM + Monte Carlo"]
    e = registration_errors(est.T_cam_lidar, T_true)
    e_ref = registration_errors(ransac.T_cam_lidar, T_true)
    print(
        f"accuracy: reference RANSAC {e_ref['rot_geodesic_deg']:.4f} deg / {e_ref['rte']:.4f} m; "
        f"pipeline {e['rot_geodesic_deg']:.4f} deg / {e['rte']:.4f} m, {est.num_inliers} inliers, "
        f"sigma {est.sigma_px:.3f} px, ESS {est.ess:.0f}"
    )


if __name__ == "__main__":
    main()

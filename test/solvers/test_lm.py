import numpy as np
import pytest
import torch

from test.camera.test_projection import CAMERAS
from test.solvers.scenes import FEATURE_MAP, scene
from vp2p_ros.camera import CameraModel, CameraTensors
from vp2p_ros.geometry import pose_difference, retract_pose
from vp2p_ros.solvers import LMConfig, PnPProblem, huber, pnp_cost, reprojection_terms, solve_lm


def batch(rng, B, n, sigma, camera=FEATURE_MAP, outlier_frac=0.0):
    """B problems stacked; returns the problem (w = 1/sigma) and the true poses."""
    parts = [scene(rng, n, sigma, outlier_frac, camera) for _ in range(B)]
    uv, pts, T = (torch.tensor(np.stack([p[i] for p in parts])) for i in range(3))
    w = torch.full_like(uv, 1 / sigma)
    return PnPProblem(uv, pts, w, CameraTensors.from_model(camera)), T


class TestHuber:
    def test_closed_form(self):
        rho, w = huber(torch.tensor([0.0, 1.0, 3.0, 5.0], dtype=torch.float64), 3.0)
        assert rho.tolist() == [0.0, 0.5, 4.5, 10.5]
        torch.testing.assert_close(w, torch.tensor([1.0, 1.0, 1.0, 0.6], dtype=torch.float64))


@pytest.mark.parametrize("name", list(CAMERAS))
def test_reprojection_jacobian_equals_autograd(rng, name):
    cam = CAMERAS[name]
    cam = CameraModel(
        cam.width, cam.height, cam.K / np.r_[8, 8, 1][:, None], cam.D, cam.distortion_model
    )
    problem, T = batch(rng, 2, 20, 0.5, cam)
    _, J, _ = reprojection_terms(T, problem)
    f = lambda d: reprojection_terms(retract_pose(T, d), problem, jacobian=False)[0]  # noqa: E731
    auto = torch.autograd.functional.jacobian(f, torch.zeros(2, 6, dtype=torch.float64))
    auto = torch.einsum("bmkbi->bmki", auto)  # (B, M, 2, 6)
    torch.testing.assert_close(J, auto, rtol=1e-6, atol=1e-6)


def test_cost_matches_residuals(rng):
    problem, T = batch(rng, 3, 50, 0.5)
    r, _, _ = reprojection_terms(T, problem, jacobian=False)
    rho, _ = huber(r.norm(dim=-1), problem.huber_delta)
    torch.testing.assert_close(pnp_cost(T[:, None], problem)[:, 0], rho.sum(-1))


def test_problem_rejects_bad_shapes():
    cam = CameraTensors.from_model(FEATURE_MAP)
    with pytest.raises(ValueError, match="points must have shape"):
        PnPProblem(torch.zeros(1, 5, 2), torch.zeros(1, 4, 3), torch.ones(1, 5, 2), cam)


class TestSolveLM:
    @pytest.mark.parametrize("name", list(CAMERAS))
    def test_recovers_pose_every_camera(self, rng, name):
        problem, T = batch(rng, 4, 100, 1e-6, CAMERAS[name])  # noise-free up to 1e-6 px
        start = retract_pose(
            T, torch.tensor(rng.normal(scale=[0.3] * 3 + [0.05] * 3, size=(4, 6)))
        )
        res = solve_lm(start, problem)
        err = pose_difference(res.T_cam_lidar, T)
        assert res.converged.all()
        assert err[:, :3].abs().max() < 1e-6 and err[:, 3:].abs().max() < 1e-8

    def test_batched_equals_one_by_one(self, rng):
        problem, T = batch(rng, 3, 60, 0.5)
        start = retract_pose(T, torch.full((3, 6), 0.05, dtype=torch.float64))
        full = solve_lm(start, problem)
        for b in range(3):
            one = PnPProblem(
                *(x[b : b + 1] for x in (problem.uv, problem.points, problem.weights)),
                problem.camera,
            )
            single = solve_lm(start[b : b + 1], one)
            torch.testing.assert_close(
                single.T_cam_lidar[0], full.T_cam_lidar[b], atol=1e-9, rtol=0
            )

    def test_zero_weight_switches_off_outliers(self, rng):
        problem, T = batch(rng, 1, 200, 0.3, outlier_frac=0.0)
        problem.uv[0, :60] += 15.0  # 30 % gross outliers
        problem.huber_delta = float("inf")  # least squares: nothing but the weights helps
        start = retract_pose(T, torch.full((1, 6), 0.02, dtype=torch.float64))
        biased = solve_lm(start, problem)
        problem.weights[0, :60] = 0
        clean = solve_lm(start, problem)
        e_b, e_c = (pose_difference(r.T_cam_lidar, T)[0].abs().max() for r in (biased, clean))
        assert e_c < 0.1 * e_b

    def test_iteration_cap_reported(self, rng):
        problem, T = batch(rng, 1, 50, 0.5)
        start = retract_pose(T, torch.full((1, 6), 0.2, dtype=torch.float64))
        res = solve_lm(start, problem, LMConfig(max_iterations=1))
        assert res.iterations.tolist() == [1] and not res.converged.any()

    def test_float32_and_autograd_through_cost(self, rng):
        problem, T = batch(rng, 2, 30, 0.5)
        uv = problem.uv.clone().requires_grad_()
        p32 = PnPProblem(
            uv.float(),
            problem.points.float(),
            problem.weights.float(),
            CameraTensors.from_model(FEATURE_MAP, torch.float32),
        )
        c = pnp_cost(T.float()[:, None], p32).sum()
        c.backward()
        assert torch.isfinite(uv.grad).all() and uv.grad.abs().sum() > 0

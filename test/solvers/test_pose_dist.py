import numpy as np
import pytest
import torch

from test.solvers.scenes import assert_calibrated
from test.solvers.test_lm import batch
from vp2p_ros.geometry import pose_difference, retract_pose
from vp2p_ros.solvers import (
    AMISConfig,
    PnPProblem,
    laplace_covariance,
    monte_carlo_pose_loss,
    sample_pose_distribution,
    solve_lm,
)


def nees(err, cov):
    return torch.einsum("bi,bi->b", err, torch.linalg.solve(cov, err[..., None])[..., 0])


def sample_at_optimum(start, problem, cfg=AMISConfig(), seed=0):
    """LM from ``start``, then seeded AMIS from its Laplace covariance: (lm, samples)."""
    lm = solve_lm(start, problem)
    cov = laplace_covariance(lm.hessian)
    g = torch.Generator().manual_seed(seed)
    return lm, sample_pose_distribution(lm.T_cam_lidar, cov, problem, cfg, generator=g)


@pytest.fixture(scope="module")
def solved():
    """500 seeded problems (60 matches, sigma = 0.5 px), LM from a perturbed start."""
    rng = np.random.default_rng(7)
    problem, T = batch(rng, 500, 60, 0.5)
    start = retract_pose(T, torch.tensor(rng.normal(scale=[0.2] * 3 + [0.02] * 3, size=(500, 6))))
    lm, samples = sample_at_optimum(start, problem)
    return problem, T, lm, samples


def test_nees_is_chi2_6(solved):
    """The covariance is calibrated: NEES ~ chi2(6) over 500 seeded trials (both estimates)."""
    problem, T, lm, samples = solved
    assert lm.converged.all()
    err = pose_difference(T, lm.T_cam_lidar)
    for cov in (samples.covariance, laplace_covariance(lm.hessian)):
        assert_calibrated(nees(err, cov).numpy())


def test_monte_carlo_agrees_with_laplace(solved):
    _, _, lm, samples = solved
    cov_l = laplace_covariance(lm.hessian)
    assert samples.ess.min() > 100  # 512 samples, target close to the proposal
    ratio = torch.linalg.solve(cov_l, samples.covariance)  # ~ identity when they agree
    eig = torch.linalg.eigvals(ratio).real
    assert (eig.median(dim=1).values - 1).abs().max() < 0.2
    # the sampled mean sits on the MAP for a near-Gaussian posterior (in sigmas of the pose)
    assert nees(samples.mean, cov_l).median() < 0.1


def log_eig_gap(a, b):
    """Largest |log eigenvalue| of b^-1 a: 0 when the covariances agree."""
    return torch.linalg.eigvals(torch.linalg.solve(b, a)).real.log().abs().max(-1).values


def test_monte_carlo_sees_what_laplace_cannot():
    """7 matches, 3 px noise: the posterior is not Gaussian; sampling finds the difference."""
    problem, T = batch(np.random.default_rng(3), 50, 7, 3.0)
    lm = solve_lm(T, problem)
    cov_l = laplace_covariance(lm.hessian)

    def mc(n, cv, seed):
        cfg = AMISConfig(num_samples=n, control_variate=cv)
        g = torch.Generator().manual_seed(seed)
        return sample_pose_distribution(lm.T_cam_lidar, cov_l, problem, cfg, generator=g)

    truth = mc(32768, False, 0).covariance  # plain importance sampling, many samples
    gap_laplace = log_eig_gap(cov_l, truth).median()
    gap_mc = log_eig_gap(mc(4096, True, 1).covariance, truth).median()
    assert gap_laplace > 0.1 and gap_mc < 0.5 * gap_laplace


def test_seeded_samples_repeat(solved):
    problem, _, lm, _ = solved
    sub = PnPProblem(problem.uv[:2], problem.points[:2], problem.weights[:2], problem.camera)
    cov = laplace_covariance(lm.hessian[:2])
    a, b = (
        sample_pose_distribution(
            lm.T_cam_lidar[:2], cov, sub, generator=torch.Generator().manual_seed(3)
        )
        for _ in range(2)
    )
    torch.testing.assert_close(a.covariance, b.covariance, rtol=0, atol=0)


def test_laplace_handles_singular_hessian():
    H = torch.diag(torch.tensor([1.0, 2, 3, 4, 5, 0], dtype=torch.float64))[None]
    cov = laplace_covariance(H)
    assert torch.isfinite(cov).all() and cov[0, 5, 5] >= 1e12
    torch.testing.assert_close(
        cov[0, :5, :5], torch.diag(1 / torch.arange(1.0, 6, dtype=torch.float64))
    )


def test_config_validation():
    with pytest.raises(ValueError, match="dof"):
        AMISConfig(dof=2.5)
    with pytest.raises(ValueError, match="num_samples"):
        AMISConfig(num_samples=2, num_rounds=4)


class TestMonteCarloPoseLoss:
    def test_gradients_reach_correspondences(self, rng):
        problem, T = batch(rng, 2, 30, 0.5)
        _, s = sample_at_optimum(T, problem)
        w = problem.weights.clone().requires_grad_()
        uv = problem.uv.clone().requires_grad_()
        loss = monte_carlo_pose_loss(T, s, PnPProblem(uv, problem.points, w, problem.camera))
        loss.sum().backward()
        assert torch.isfinite(loss).all()
        assert w.grad.abs().sum() > 0 and uv.grad.abs().sum() > 0

    def test_learns_the_noise_level(self, rng):
        """Minimising the KL loss over a global weight recovers 1/sigma (what training needs)."""
        sigma = 0.5
        problem, T = batch(rng, 64, 40, sigma)
        log_w = torch.zeros(
            (), dtype=torch.float64, requires_grad=True
        )  # start at w = 1 (sigma 1)
        opt = torch.optim.Adam([log_w], lr=0.1)
        for _ in range(60):
            p = PnPProblem(
                problem.uv, problem.points, problem.weights * 0 + log_w.exp(), problem.camera
            )
            with torch.no_grad():
                _, s = sample_at_optimum(T, p, AMISConfig(num_samples=128))
            loss = monte_carlo_pose_loss(T, s, p).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert abs(float(log_w.detach().exp()) * sigma - 1) < 0.15

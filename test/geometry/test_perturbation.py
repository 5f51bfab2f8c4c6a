import numpy as np
import pytest
import torch

from vp2p_ros.geometry import (
    covariance_of_inverse,
    inverse_transform,
    pose_difference,
    retract_pose,
    se3_exp,
)


def random_pose(rng):
    return se3_exp(np.r_[rng.uniform(-3, 3, 3), rng.uniform(-1.5, 1.5, 3)])


class TestRetractPose:
    def test_round_trip(self, rng):
        T = random_pose(rng)
        d = np.r_[rng.normal(size=3), rng.uniform(-1, 1, 3)]
        np.testing.assert_allclose(pose_difference(retract_pose(T, d), T), d, atol=1e-12)

    def test_rotation_is_about_parent_axes(self):
        T = se3_exp(np.array([1.0, 2, 3, 0.3, -0.2, 0.5]))
        Tp = retract_pose(T, np.array([0, 0, 0, 0, 0, np.pi / 2]))
        Rz = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
        np.testing.assert_allclose(Tp[:3, :3], Rz @ T[:3, :3], atol=1e-12)
        np.testing.assert_allclose(Tp[:3, 3], T[:3, 3])  # fixed-axis rotation leaves t alone

    def test_cardinality_broadcast(self, rng):
        T = torch.from_numpy(random_pose(rng))
        d = torch.zeros(5, 7, 6, dtype=torch.float64)
        assert retract_pose(T, d).shape == (5, 7, 4, 4)
        assert pose_difference(retract_pose(T, d), T).abs().max() < 1e-12

    def test_gradcheck(self, rng):
        T = torch.from_numpy(random_pose(rng))
        d = torch.tensor([0.1, -0.2, 0.3, 0.05, 0.02, -0.1], dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda x: retract_pose(T, x), (d.requires_grad_(),))


class TestCovarianceOfInverse:
    def test_matches_sampling(self, rng):
        T = random_pose(rng)
        A = rng.normal(size=(6, 6)) * 1e-3  # small: the propagation is first order
        cov = A @ A.T
        d = rng.multivariate_normal(np.zeros(6), cov, size=200_000)
        T_inv = inverse_transform(T)
        samples = inverse_transform(retract_pose(T, d))
        e = pose_difference(samples, np.broadcast_to(T_inv, samples.shape))
        expected = np.cov(e.T)
        got = covariance_of_inverse(T, cov)
        np.testing.assert_allclose(got, expected, atol=0.02 * np.abs(expected).max())

    def test_involution(self, rng):
        T = random_pose(rng)
        A = rng.normal(size=(6, 6))
        cov = A @ A.T
        back = covariance_of_inverse(inverse_transform(T), covariance_of_inverse(T, cov))
        np.testing.assert_allclose(back, cov, rtol=1e-10, atol=1e-10)

    @pytest.mark.parametrize("shape", [(6, 6), (2, 6, 6)])
    def test_cardinality(self, rng, shape):
        T = np.broadcast_to(random_pose(rng), shape[:-2] + (4, 4))
        assert covariance_of_inverse(T, np.broadcast_to(np.eye(6), shape)).shape == shape


def test_covariance_of_composition_matches_sampling(rng):
    from vp2p_ros.geometry import covariance_of_composition

    T_ab, T_bc = random_pose(rng), random_pose(rng)
    A = rng.normal(size=(6, 6)) * 1e-3
    cov = A @ A.T
    d = rng.multivariate_normal(np.zeros(6), cov, size=200_000)
    samples = retract_pose(T_ab, d) @ T_bc
    e = pose_difference(samples, np.broadcast_to(T_ab @ T_bc, samples.shape))
    expected = np.cov(e.T)
    got = covariance_of_composition(T_ab, T_bc, cov)
    np.testing.assert_allclose(got, expected, atol=0.02 * np.abs(expected).max())

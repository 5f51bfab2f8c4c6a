import doctest

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

import vp2p_ros.geometry.lie as lie
from vp2p_ros.geometry import (
    interpolate_transform,
    inverse_transform,
    make_transform,
    matrix_to_quaternion,
    matrix_to_rpy,
    quaternion_to_matrix,
    rotation_angle,
    rpy_to_matrix,
    se3_exp,
    se3_log,
    skew,
    so3_exp,
    so3_left_jacobian,
    so3_log,
    transform_distance,
    transform_points,
    transform_points_batch,
)


def random_rotvecs(rng, n, max_angle=np.pi - 1e-3):
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * rng.uniform(0, max_angle, size=(n, 1))


def test_doctests():
    assert doctest.testmod(lie, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


class TestSkew:
    def test_smoke(self, rng):
        v, u = rng.normal(size=(2, 3))
        np.testing.assert_allclose(skew(v) @ u, np.cross(v, u), atol=1e-12)

    def test_cardinality(self, rng):
        assert skew(rng.normal(size=(4, 5, 3))).shape == (4, 5, 3, 3)

    def test_exception(self):
        with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
            skew(np.zeros(4))


class TestSo3Exp:
    def test_closed_form(self):
        R = so3_exp(np.array([0.0, 0.0, np.pi / 2]))
        np.testing.assert_allclose(R, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-15)

    def test_matches_scipy(self, rng, dtype):
        w = random_rotvecs(rng, 200).astype(dtype)
        R = so3_exp(w)
        assert R.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(R, Rotation.from_rotvec(w.astype(float)).as_matrix(), atol=tol)

    def test_small_angles(self):
        w = np.array([[1e-9, 0, 0], [0, 0, 0], [3e-5, -2e-5, 1e-5]])
        np.testing.assert_allclose(so3_exp(w), Rotation.from_rotvec(w).as_matrix(), atol=1e-15)

    def test_cardinality(self, rng):
        assert so3_exp(rng.normal(size=(2, 3, 3))).shape == (2, 3, 3, 3)
        assert so3_exp(rng.normal(size=3)).shape == (3, 3)

    def test_gradcheck(self, rng):
        for scale in (1.0, 1e-6):
            w = torch.tensor(random_rotvecs(rng, 3) * scale, requires_grad=True)
            assert torch.autograd.gradcheck(so3_exp, (w,))


class TestSo3Log:
    def test_round_trip(self, rng):
        w = random_rotvecs(rng, 500)
        np.testing.assert_allclose(so3_log(so3_exp(w)), w, atol=1e-9)

    def test_near_pi_and_identity(self):
        for w in ([np.pi, 0, 0], [0, np.pi - 1e-10, 0], [0, 0, 0], [1e-12, 0, 0]):
            w = np.array(w)
            np.testing.assert_allclose(np.abs(so3_log(so3_exp(w))), np.abs(w), atol=1e-7)

    def test_gradcheck(self, rng):
        R = torch.tensor(so3_exp(random_rotvecs(rng, 2, 2.0)), requires_grad=True)
        assert torch.autograd.gradcheck(so3_log, (R,))


class TestQuaternion:
    def test_closed_form(self):
        q = np.array([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])  # 90 deg about z
        np.testing.assert_allclose(quaternion_to_matrix(q), so3_exp([0, 0, np.pi / 2]), atol=1e-15)

    def test_round_trip_and_sign(self, rng):
        R = so3_exp(random_rotvecs(rng, 300, np.pi))
        q = matrix_to_quaternion(R)
        assert np.all(q[:, 3] >= 0)
        ref = Rotation.from_matrix(R).as_quat()
        ref *= np.sign(ref[:, 3:4])
        np.testing.assert_allclose(q, ref, atol=1e-12)
        np.testing.assert_allclose(quaternion_to_matrix(q), R, atol=1e-12)

    def test_unnormalised_input(self):
        np.testing.assert_allclose(quaternion_to_matrix([0, 0, 0, 5.0]), np.eye(3))

    def test_exception(self):
        with pytest.raises(ValueError, match="zero or non-finite norm"):
            quaternion_to_matrix([0, 0, 0, 0])
        with pytest.raises(ValueError, match="zero or non-finite norm"):
            quaternion_to_matrix([np.nan, 0, 0, 1])


class TestSe3:
    def test_closed_form_pure_translation(self):
        np.testing.assert_allclose(
            se3_exp([1, 2, 3, 0, 0, 0]), make_transform(np.eye(3), [1, 2, 3])
        )

    def test_closed_form_screw(self):
        # rotation pi/2 about z with v = (1, 0, 0): t = J v = (sin t / t, (1 - cos t) / t, 0)
        th = np.pi / 2
        T = se3_exp([1, 0, 0, 0, 0, th])
        np.testing.assert_allclose(
            T[:3, 3], [np.sin(th) / th, (1 - np.cos(th)) / th, 0], atol=1e-15
        )

    def test_round_trip(self, rng):
        xi = np.concatenate([rng.normal(size=(300, 3)) * 5, random_rotvecs(rng, 300)], 1)
        np.testing.assert_allclose(se3_log(se3_exp(xi)), xi, atol=1e-8)

    def test_left_jacobian_is_derivative(self, rng):
        # exp(w + dw) ~= exp(J dw) exp(w)
        w = random_rotvecs(rng, 1, 2.0)[0]
        dw = rng.normal(size=3) * 1e-6
        lhs = so3_exp(w + dw)
        rhs = so3_exp(so3_left_jacobian(w) @ dw) @ so3_exp(w)
        np.testing.assert_allclose(lhs, rhs, atol=1e-11)

    def test_gradcheck(self, rng):
        xi = torch.tensor(rng.normal(size=(2, 6)) * 0.5, requires_grad=True)
        assert torch.autograd.gradcheck(se3_exp, (xi,))
        T = torch.tensor(se3_exp(rng.normal(size=(2, 6)) * 0.5), requires_grad=True)
        assert torch.autograd.gradcheck(se3_log, (T,))


class TestTransforms:
    def test_inverse(self, rng):
        T = se3_exp(rng.normal(size=(10, 6)))
        np.testing.assert_allclose(
            inverse_transform(T) @ T, np.broadcast_to(np.eye(4), T.shape), atol=1e-12
        )

    def test_transform_points_direction(self):
        # T_cam_lidar maps LiDAR points into the camera frame: x_cam = R x_lidar + t
        T = make_transform(so3_exp([0, 0, np.pi / 2]), [1.0, 0, 0])
        np.testing.assert_allclose(
            transform_points(T, np.array([[1.0, 0, 0]])), [[1, 1, 0]], atol=1e-15
        )

    def test_transform_points_batch_is_transform_points_per_pose(self, rng):
        T = torch.from_numpy(se3_exp(rng.normal(size=(5, 6))))
        p = torch.from_numpy(rng.normal(size=(7, 3)))
        out = transform_points_batch(T, p)
        assert out.shape == (5, 7, 3)
        for k in range(5):
            torch.testing.assert_close(out[k], transform_points(T[k], p), rtol=0, atol=1e-12)

    def test_rpy_ros_convention(self, rng):
        rpy = rng.uniform(-1.5, 1.5, size=(50, 3))
        ref = Rotation.from_euler("xyz", rpy).as_matrix()  # extrinsic x, y, z == Rz Ry Rx
        np.testing.assert_allclose(rpy_to_matrix(rpy), ref, atol=1e-12)
        np.testing.assert_allclose(matrix_to_rpy(rpy_to_matrix(rpy)), rpy, atol=1e-12)

    def test_rotation_angle_and_distance(self):
        R = so3_exp([0, np.radians(2.0), 0])
        assert rotation_angle(R) == pytest.approx(np.radians(2.0), abs=1e-14)
        a, d = transform_distance(
            make_transform(np.eye(3), [0, 0, 0]), make_transform(R, [3, 4, 0])
        )
        assert a == pytest.approx(np.radians(2.0)) and d == pytest.approx(5.0)

    def test_interpolate(self, rng):
        T0 = se3_exp(rng.normal(size=6) * 0.3)
        T1 = se3_exp(rng.normal(size=6) * 0.3)
        np.testing.assert_allclose(interpolate_transform(T0, T1, 0.0), T0, atol=1e-12)
        np.testing.assert_allclose(interpolate_transform(T0, T1, 1.0), T1, atol=1e-12)
        mid = interpolate_transform(T0, T1, 0.5)
        a0, _ = transform_distance(T0, mid)
        a1, _ = transform_distance(mid, T1)
        assert a0 == pytest.approx(a1, abs=1e-12)
        np.testing.assert_allclose(mid[:3, 3], (T0[:3, 3] + T1[:3, 3]) / 2, atol=1e-12)

    def test_torch_device_dtype_preserved(self, rng):
        T = torch.tensor(se3_exp(rng.normal(size=(3, 6))), dtype=torch.float32)
        out = inverse_transform(T)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32

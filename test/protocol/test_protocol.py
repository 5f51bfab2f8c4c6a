import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from vp2p_ros.camera import CameraModel
from vp2p_ros.data import Frame, load_bundled_frames
from vp2p_ros.geometry import make_transform, so3_exp, transform_points
from vp2p_ros.protocol import (
    ProtocolConfig,
    config_from_dict,
    estimate_normals,
    make_sample,
    prepare_image,
    random_perturbation,
    registration_errors,
    sample_indices,
    summarize,
    undistort_image,
    voxel_downsample,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frame():
    return load_bundled_frames(1)[0]


def test_config_yaml_matches_dataclass():
    values = yaml.safe_load((ROOT / "config" / "protocol.yaml").read_text())
    assert config_from_dict(values) == ProtocolConfig()


def test_config_unknown_key():
    with pytest.raises(ValueError, match=r"unknown protocol option\(s\) \['crop_hieght'\]"):
        config_from_dict({"crop_hieght": 10})


def test_prepare_image_intrinsics_closed_form(frame):
    img, cam, feat = prepare_image(frame.image, frame.camera)
    assert (
        img.shape == (3, 160, 512) and img.dtype == np.float32 and 0 <= img.min() <= img.max() <= 1
    )
    w, h = round(1242 * 0.5), round(375 * 0.5)
    dx, dy = (w - 512) // 2, (h - 160) // 2
    K = frame.camera.K
    np.testing.assert_allclose(
        cam.K, [[K[0, 0] / 2, 0, K[0, 2] / 2 - dx], [0, K[1, 1] / 2, K[1, 2] / 2 - dy], [0, 0, 1]]
    )
    np.testing.assert_allclose(feat.K[:2], cam.K[:2] / 4)
    assert (feat.width, feat.height) == (128, 40)


def test_random_crop_is_seeded(frame):
    a = prepare_image(frame.image, frame.camera, rng=np.random.default_rng(3))
    b = prepare_image(frame.image, frame.camera, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1].K, b[1].K)


def test_perturbation_ranges(rng):
    Ps = np.stack([random_perturbation(rng) for _ in range(500)])
    assert np.all(Ps[:, 1, 3] == 0) and np.abs(Ps[:, [0, 2], 3]).max() <= 10
    np.testing.assert_allclose(Ps[:, 1, :3], np.tile([0, 1, 0], (500, 1)), atol=1e-12)  # yaw only
    assert np.abs(Ps[:, [0, 2], 3]).max() > 9  # the range is used


def test_sample_indices(rng):
    assert len(set(sample_indices(100, 40, rng).tolist())) == 40
    idx = sample_indices(30, 100, rng)
    assert len(idx) == 100 and set(idx.tolist()) == set(range(30))
    with pytest.raises(ValueError, match="empty"):
        sample_indices(0, 10, rng)


def test_voxel_downsample_means(rng):
    pts = np.array([[0.01, 0.01, 0.01], [0.03, 0.05, 0.07], [1.0, 1.0, 1.0]])
    out, inten = voxel_downsample(pts, np.array([1.0, 3.0, 5.0]), voxel=0.1)
    assert len(out) == 2
    np.testing.assert_allclose(sorted(inten), [2.0, 5.0])


def test_normals_of_a_plane(rng):
    pts = np.c_[rng.uniform(-2, 2, (2000, 2)), np.full(2000, -1.5)]  # ground below the sensor
    n = estimate_normals(pts, 0.6, 20)
    np.testing.assert_allclose(n, np.tile([0, 0, 1.0], (2000, 1)), atol=1e-5)


def test_make_sample_ground_truth_maps_input_to_camera(frame):
    s = make_sample(frame, rng=np.random.default_rng(0))
    assert s.points.shape == (40960, 3) and s.normals.shape == (40960, 3)
    assert 0 <= s.intensity.min() and s.intensity.max() <= 1
    pc = transform_points(s.P, s.points.astype(np.float64))
    _, ok = s.camera_feat.project(pc)
    assert ok.sum() > 3000  # about an eighth of the sampled points fall in the 40x128 map
    np.testing.assert_allclose(np.linalg.norm(s.normals, axis=1), 1, atol=1e-4)
    s2 = make_sample(frame, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(s.points, s2.points)
    np.testing.assert_array_equal(s.P, s2.P)


def test_make_sample_needs_extrinsic(frame):
    with pytest.raises(ValueError, match="needs frame.T_cam_lidar"):
        make_sample(dataclasses.replace(frame, T_cam_lidar=None))


def test_undistort_image_makes_straight_lines_straight():
    K = np.array([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]])
    cam = CameraModel(320, 240, K, [-0.25, 0.05, 0, 0, 0])
    pin = CameraModel(320, 240, K, [])
    # render a vertical line at x = 0.3 z through the distorted camera
    ys = np.linspace(-0.35, 0.35, 400)
    uv, ok = cam.project(np.c_[np.full_like(ys, 0.3), ys, np.ones_like(ys)])
    img = np.zeros((240, 320, 3), np.uint8)
    img[np.round(uv[ok, 1]).astype(int), np.round(uv[ok, 0]).astype(int)] = 255
    out, model = undistort_image(img, cam)
    assert model.is_pinhole
    cols = np.nonzero(out[40:200, :, 0].max(0) > 60)[0]
    expected = pin.project(np.array([[0.3, 0, 1.0]]))[0][0, 0]
    assert cols.min() >= expected - 2 and cols.max() <= expected + 2


class TestMetrics:
    def test_two_degree_rotation_is_exactly_two_degrees(self, frame):
        from scipy.spatial.transform import Rotation

        T_file = frame.T_cam_lidar  # real KITTI extrinsic, orthonormal to ~1e-7 (7-digit file)
        T_orth = T_file.copy()
        T_orth[:3, :3] = Rotation.from_matrix(T_file[:3, :3]).as_matrix()
        for T_gt, tol in ((T_orth, 1e-9), (T_file, 1e-6)):
            for axis in np.eye(3):
                T_pred = make_transform(so3_exp(np.radians(2.0) * axis), np.zeros(3)) @ T_gt
                e = registration_errors(T_pred, T_gt)
                assert e["rot_geodesic_deg"] == pytest.approx(2.0, abs=tol)
                assert e["success"]
        # a 2 deg error about the camera's own y axis is one Euler angle: RRE == 2 deg as well
        T_pred = T_orth @ make_transform(so3_exp([0, np.radians(2.0), 0]), np.zeros(3))
        assert registration_errors(T_pred, T_orth)["rre"] == pytest.approx(2.0, abs=1e-9)

    def test_rre_is_sum_of_euler_angles(self):
        from scipy.spatial.transform import Rotation

        R = Rotation.from_euler("xzy", [3.0, -4.0, 2.0], degrees=True).as_matrix()
        e = registration_errors(np.eye(4), make_transform(R, np.zeros(3)))
        assert e["rre"] == pytest.approx(9.0, abs=1e-9)
        assert e["rot_geodesic_deg"] < 9.0

    def test_translation_errors_both_directions(self):
        T_gt = make_transform(so3_exp([0, 0.5, 0]), [1.0, 2.0, 3.0])
        T_pred = make_transform(so3_exp([0, 0.5, 0]), [1.0, 2.0, 4.5])
        e = registration_errors(T_pred, T_gt)
        assert e["rte"] == pytest.approx(1.5) and e["rte_lidar_cam"] == pytest.approx(1.5)
        T_pred2 = make_transform(so3_exp([0, 0.6, 0]), [1.0, 2.0, 3.0])
        e2 = registration_errors(T_pred2, T_gt)
        assert e2["rte"] == pytest.approx(0.0, abs=1e-12) and e2["rte_lidar_cam"] > 0.3

    def test_success_thresholds_and_batch(self):
        T = np.stack([make_transform(np.eye(3), [0, 0, d]) for d in (1.9, 2.1)])
        e = registration_errors(T, np.stack([np.eye(4)] * 2))
        assert e["success"].tolist() == [True, False]
        s = summarize([{k: v[i] for k, v in e.items()} for i in range(2)])
        assert s["success_rate"] == 0.5 and s["rte_mean"] == pytest.approx(2.0)


def test_frame_validation():
    cam = CameraModel(4, 3, np.eye(3), [])
    with pytest.raises(ValueError, match="image is 5x3 but the camera model is 4x3"):
        Frame(np.zeros((3, 5, 3), np.uint8), np.zeros((1, 3)), None, cam)
    with pytest.raises(ValueError, match="2 intensities for 1 points"):
        Frame(np.zeros((3, 4, 3), np.uint8), np.zeros((1, 3)), np.zeros(2), cam)

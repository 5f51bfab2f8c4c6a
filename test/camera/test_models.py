import types

import cv2
import numpy as np
import pytest

from vp2p_ros.camera import CameraModel
from vp2p_ros.errors import CameraModelError

K = np.array([[700.0, 0, 640], [0, 710.0, 360], [0, 0, 1]])
MODELS = {
    "plumb_bob": [-0.3, 0.1, 0.001, -0.002, -0.02],
    "rational_polynomial": [0.5, -0.2, 0.001, 0.002, 0.01, 0.8, -0.1, 0.02],
    "equidistant": [0.1, -0.05, 0.01, -0.002],
}


def points(rng, n=500):
    return np.c_[rng.uniform(-3, 3, (n, 2)), rng.uniform(2, 20, n)]


class TestPinhole:
    def test_closed_form(self):
        cam = CameraModel(1280, 720, K, [])
        uv, ok = cam.project(np.array([[1.0, -0.5, 2.0]]))
        np.testing.assert_allclose(uv, [[640 + 700 * 0.5, 360 - 710 * 0.25]])
        assert ok.all()

    def test_behind_and_outside(self):
        cam = CameraModel(1280, 720, K, [])
        uv, ok = cam.project(np.array([[0, 0, -1.0], [100, 0, 1.0], [np.nan, 0, 1], [0, 0, 5]]))
        assert ok.tolist() == [False, False, False, True]
        assert np.isnan(uv[0]).all()
        _, ok2 = cam.project(np.array([[100, 0, 1.0]]), in_image=False)
        assert ok2.all()

    def test_image_border_pixel_centre_convention(self):
        cam = CameraModel(4, 3, np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]), [])
        assert cam.contains(
            np.array([[-0.5, -0.5], [3.49, 2.49], [3.5, 0], [0, -0.51]])
        ).tolist() == [True, True, False, False]


@pytest.mark.parametrize("model", list(MODELS))
class TestDistortion:
    def test_matches_opencv(self, model, rng):
        cam = CameraModel(1280, 720, K, MODELS[model], model)
        P = points(rng)
        uv, ok = cam.project(P, in_image=False)
        if model == "equidistant":
            ref, _ = cv2.fisheye.projectPoints(
                P[None], np.zeros(3), np.zeros(3), K, np.array(MODELS[model])
            )
        else:
            ref, _ = cv2.projectPoints(P, np.zeros(3), np.zeros(3), K, np.array(MODELS[model]))
        np.testing.assert_allclose(uv[ok], ref.reshape(-1, 2)[ok], atol=1e-9)
        assert ok.mean() > 0.95

    def test_unproject_round_trip(self, model, rng):
        cam = CameraModel(1280, 720, K, MODELS[model], model)
        P = points(rng)
        uv, ok = cam.project(P)
        np.testing.assert_allclose(cam.unproject(uv[ok], P[ok, 2]), P[ok], atol=1e-9)

    def test_undistort_inverts_distort(self, model, rng):
        cam = CameraModel(1280, 720, K, MODELS[model], model)
        xn = rng.uniform(-0.6, 0.6, (300, 2))
        np.testing.assert_allclose(cam.undistort(cam.distort(xn)), xn, atol=1e-10)

    def test_matches_opencv_undistort(self, model, rng):
        cam = CameraModel(1280, 720, K, MODELS[model], model)
        uv = rng.uniform([100, 100], [1180, 620], (200, 2))
        undistort = cv2.fisheye.undistortPoints if model == "equidistant" else cv2.undistortPoints
        ref = undistort(
            uv[:, None],
            K,
            np.array(MODELS[model]),
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-14),
        ).reshape(-1, 2)
        ours = cam.unproject(uv)[:, :2]
        r = np.linalg.norm(ref, axis=1)  # the fisheye limit is an angle, the others a radius
        inside = (np.arctan(r) if model == "equidistant" else r) < cam.max_valid_radius()
        assert inside.mean() > 0.5
        np.testing.assert_allclose(ours[inside], ref[inside], atol=1e-6)
        # outside the monotonic region there is no physical solution: NaN, never a wrong ray
        assert np.all(
            np.isnan(ours[~inside]).any(axis=1)
            | np.isclose(
                np.linalg.norm(ours[~inside], axis=1), np.linalg.norm(ref[~inside], axis=1)
            )
        )


def test_validity_mask_rejects_fold_back():
    # strong barrel distortion: r_d(r) = r (1 - 0.4 r^2) peaks at r = 0.913 and folds back
    cam = CameraModel(1280, 720, K, [-0.4, 0, 0, 0, 0])
    assert cam.max_valid_radius() == pytest.approx(1 / np.sqrt(1.2), abs=1e-3)
    far = np.array([[1.5, 0.0, 1.0]])  # r = 1.5: its distorted image would land inside
    assert cam.distort(far[:, :2])[0, 0] * 700 + 640 < 1280
    _, ok = cam.project(far)
    assert not ok[0]


class TestIntrinsicsChanges:
    def test_scaled_closed_form(self):
        cam = CameraModel(1242, 375, K, []).scaled(0.5)
        np.testing.assert_allclose(cam.K, [[350, 0, 320], [0, 355, 180], [0, 0, 1]])
        assert (cam.width, cam.height) == (621, 188)
        cen = CameraModel(1242, 375, K, []).scaled(0.5, half_pixel=True)
        assert cen.K[0, 2] == pytest.approx(320 - 0.25)

    def test_scaled_projection_consistent(self, rng):
        cam = CameraModel(1280, 720, K, MODELS["plumb_bob"])
        P = points(rng)
        uv, ok = cam.project(P)
        uv2, ok2 = cam.scaled(0.25, 0.5).project(P, in_image=False)
        np.testing.assert_allclose(uv2[ok], uv[ok] * [0.25, 0.5], atol=1e-9)

    def test_cropped(self, rng):
        cam = CameraModel(1280, 720, K, MODELS["plumb_bob"])
        c = cam.cropped(100, 50, 512, 160)
        P = points(rng)
        uv, _ = cam.project(P, in_image=False)
        uvc, okc = c.project(P)
        np.testing.assert_allclose(uvc[okc], uv[okc] - [100, 50], atol=1e-9)
        assert (c.width, c.height) == (512, 160)

    def test_feature_map_stride(self):
        f = CameraModel(512, 160, K, []).for_feature_map(4)
        assert (f.width, f.height) == (128, 40)
        np.testing.assert_allclose(f.K, [[175, 0, 160], [0, 177.5, 90], [0, 0, 1]])


def _info(**kw):
    base = dict(
        width=1280,
        height=720,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=K.ravel().tolist(),
        binning_x=0,
        binning_y=0,
        roi=types.SimpleNamespace(x_offset=0, y_offset=0, width=0, height=0),
    )
    base.update(kw)
    return types.SimpleNamespace(**base)


class TestFromCameraInfo:
    def test_plain(self):
        cam = CameraModel.from_camera_info(_info())
        np.testing.assert_allclose(cam.K, K)
        assert cam.is_pinhole

    def test_binning_and_roi(self):
        roi = types.SimpleNamespace(x_offset=100, y_offset=60, width=800, height=400)
        cam = CameraModel.from_camera_info(_info(binning_x=2, binning_y=2, roi=roi))
        assert (cam.width, cam.height) == (400, 200)
        np.testing.assert_allclose(cam.K[0], [350, 0, 270])
        np.testing.assert_allclose(cam.K[1], [0, 355, 150])

    def test_round_trip_fields(self):
        cam = CameraModel(1280, 720, K, MODELS["equidistant"], "equidistant")
        again = CameraModel.from_camera_info(
            types.SimpleNamespace(
                **cam.to_camera_info_fields(), binning_x=0, binning_y=0, roi=None
            )
        )
        np.testing.assert_allclose(again.D, cam.D)
        assert again.distortion_model == "equidistant"


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(k=[0.0] * 9), "non-positive focal length"),
        (dict(k=[np.nan] + K.ravel().tolist()[1:]), "non-finite"),
        (dict(k=[1.0] * 8), "must have 9 elements"),
        (dict(distortion_model="fisheye62"), "unsupported distortion_model 'fisheye62'"),
        (dict(distortion_model="equidistant", d=[0.1] * 5), "equidistant needs 4 coefficients"),
        (dict(distortion_model="rational_polynomial", d=[0.1] * 5), "rational_polynomial needs 8"),
        (dict(d=[0.1, 0.2, 0.0]), "plumb_bob needs 4 or 5 coefficients"),
        (dict(d=[0.1, np.inf, 0, 0, 0]), "D has non-finite"),
        (dict(width=0), "image size must be positive"),
    ],
)
def test_bad_camera_info(kw, match):
    with pytest.raises(CameraModelError, match=match):
        CameraModel.from_camera_info(_info(**kw))

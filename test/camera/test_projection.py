import numpy as np
import pytest
import torch

from test.camera.test_models import MODELS, K, points
from vp2p_ros.camera import CameraModel, CameraTensors, grid_coordinates, project_points

CAMERAS = {
    "pinhole": CameraModel(1280, 720, K, []),
    "skewed pinhole": CameraModel(1280, 720, K + [[0, 3.0, 0], [0, 0, 0], [0, 0, 0]], []),
    **{m: CameraModel(1280, 720, K, d, m) for m, d in MODELS.items()},
}


@pytest.mark.parametrize("name", list(CAMERAS))
class TestProjectPoints:
    def test_matches_numpy_model(self, name, rng):
        cam = CAMERAS[name]
        P = points(rng)
        ref, ok = cam.project(P, in_image=False)
        uv, _, valid = project_points(torch.from_numpy(P), CameraTensors.from_model(cam))
        assert valid.numpy().tolist() == ok.tolist()
        np.testing.assert_allclose(uv.numpy()[ok], ref[ok], atol=1e-9)

    def test_jacobian_equals_autograd(self, name, rng):
        cam = CameraTensors.from_model(CAMERAS[name])
        P = torch.from_numpy(points(rng, 40))
        P[0] = torch.tensor([1e-12, -1e-12, 5.0])  # on the optical axis (fisheye limit)
        _, J, _ = project_points(P, cam)
        auto = torch.autograd.functional.jacobian(lambda p: project_points(p, cam)[0], P)
        auto = torch.einsum("iaib->iab", auto)  # (N, 2, 3): each pixel depends on its point
        torch.testing.assert_close(J, auto, rtol=1e-6, atol=1e-6)

    def test_cardinality_and_dtype(self, name, rng):
        cam = CameraTensors.from_model(CAMERAS[name], torch.float32)
        P = torch.from_numpy(points(rng, 24)).float().reshape(2, 3, 4, 3)
        uv, J, valid = project_points(P, cam)
        assert uv.shape == (2, 3, 4, 2) and J.shape == (2, 3, 4, 2, 3) and valid.shape == (2, 3, 4)
        assert uv.dtype == torch.float32

    def test_grid_coordinates_normalise_the_same_pixels(self, name, rng):
        cam = CameraTensors.from_model(CAMERAS[name])
        P = torch.from_numpy(points(rng, 30)).reshape(3, 10, 3)
        P[0, 0] = torch.tensor([0.5, 0.2, -3.0], dtype=torch.float64)  # behind: clamped alike
        uv, _, _ = project_points(P, cam, jacobian=False)
        size = (2 * 1280 + 2, 720)  # any grid width: here an oriented map's
        grid, z = grid_coordinates(P, cam, size)
        expected = 2 * uv / torch.tensor([size[0] - 1.0, size[1] - 1.0]) - 1
        torch.testing.assert_close(grid, expected, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(z, P[..., 2])

    def test_behind_camera_is_finite_and_invalid(self, name):
        cam = CameraTensors.from_model(CAMERAS[name])
        uv, J, valid = project_points(
            torch.tensor([[0.5, 0.2, -3.0], [0.0, 0.0, 0.0]], dtype=torch.float64), cam
        )
        assert not valid.any()
        assert torch.isfinite(uv).all() and torch.isfinite(J).all()


def test_gradcheck():
    cam = CameraTensors.from_model(CAMERAS["rational_polynomial"])
    P = torch.tensor([[0.3, -0.2, 4.0], [1.0, 0.5, 9.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: project_points(p, cam)[0], (P,))

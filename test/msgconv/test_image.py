import numpy as np
import pytest

from test.msgconv.helpers import make_image
from vp2p_ros.msgconv import array_to_image, image_to_array, image_to_rgb8


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "enc",
    ["rgb8", "bgr8", "mono8", "mono16", "16UC1", "32FC1", "rgba8", "bgra8", "64FC1", "16SC1"],
)
def test_round_trip(rng, enc):
    from vp2p_ros.msgconv import ENCODINGS

    base, ch = ENCODINGS[enc]
    shape = (5, 6, ch) if ch > 1 else (5, 6)
    arr = (rng.uniform(-100, 60000, shape)).astype(base)
    np.testing.assert_array_equal(image_to_array(array_to_image(arr, enc)), arr)


def test_channel_orders(rgb):
    np.testing.assert_array_equal(image_to_rgb8(make_image(rgb, "rgb8")), rgb)
    np.testing.assert_array_equal(image_to_rgb8(make_image(rgb[..., ::-1], "bgr8")), rgb)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 9, np.uint8)], -1)
    np.testing.assert_array_equal(image_to_rgb8(make_image(rgba, "rgba8")), rgb)
    bgra = np.concatenate([rgb[..., ::-1], np.full(rgb.shape[:2] + (1,), 9, np.uint8)], -1)
    np.testing.assert_array_equal(image_to_rgb8(make_image(bgra, "bgra8")), rgb)


def test_step_padding(rgb):
    np.testing.assert_array_equal(image_to_array(make_image(rgb, "rgb8", pad=5)), rgb)


def test_big_endian_mono16(rng):
    arr = rng.integers(0, 65535, (4, 5), dtype=np.uint16)
    np.testing.assert_array_equal(image_to_array(make_image(arr, "mono16", big=True)), arr)
    np.testing.assert_array_equal(
        image_to_rgb8(make_image(arr, "mono16", big=True))[..., 0], (arr >> 8).astype(np.uint8)
    )


def test_mono_and_depth_to_rgb(rng):
    mono = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    out = image_to_rgb8(make_image(mono, "mono8"))
    assert out.shape == (4, 5, 3) and np.all(out == mono[..., None])
    depth = np.array([[0.0, 1.0], [np.nan, 2.0]], np.float32)
    d = image_to_rgb8(make_image(depth, "32FC1"))
    assert d[0, 0, 0] == 0 and d[1, 1, 0] == 255 and d[1, 0, 0] == 0


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_demosaic_recovers_flat_colour(pattern):
    colour = {"r": 200, "g": 120, "b": 40}
    h, w = 8, 10
    mosaic = np.zeros((h, w), np.uint8)
    for dy in range(2):
        for dx in range(2):
            mosaic[dy::2, dx::2] = colour[pattern[2 * dy + dx]]
    out = image_to_rgb8(make_image(mosaic, f"bayer_{pattern}8"))
    np.testing.assert_array_equal(out[2:-2, 2:-2].reshape(-1, 3).max(0), [200, 120, 40])
    np.testing.assert_array_equal(out[2:-2, 2:-2].reshape(-1, 3).min(0), [200, 120, 40])


def test_bayer16(rng):
    mosaic = np.full((6, 6), 200 * 256, np.uint16)
    out = image_to_rgb8(make_image(mosaic, "bayer_rggb16"))
    assert out.dtype == np.uint8 and out.shape == (6, 6, 3) and np.all(out == 200)

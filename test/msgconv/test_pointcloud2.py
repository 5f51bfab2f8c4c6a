import numpy as np
import pytest

from test.msgconv.helpers import make_cloud
from vp2p_ros.msgconv import arrays_to_pointcloud2, pointcloud2_to_arrays


def xyzi(rng, n=24):
    return (
        rng.normal(size=(n, 3)).astype(np.float32) * 10,
        rng.uniform(0, 255, n).astype(np.float32),
    )


def test_round_trip(rng):
    xyz, inten = xyzi(rng)
    out = pointcloud2_to_arrays(arrays_to_pointcloud2(xyz, inten, frame_id="velo"))
    np.testing.assert_array_equal(out.xyz, xyz)
    np.testing.assert_array_equal(out.intensity, inten)


def test_round_trip_without_intensity(rng):
    xyz, _ = xyzi(rng)
    msg = arrays_to_pointcloud2(xyz)
    assert [f.name for f in msg.fields] == ["x", "y", "z"] and msg.point_step == 12
    out = pointcloud2_to_arrays(msg)
    assert out.intensity is None
    np.testing.assert_array_equal(out.xyz, xyz)


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
def test_any_field_order_padding_and_endianness(rng, big):
    xyz, inten = xyzi(rng)
    ring = np.arange(len(xyz), dtype=np.uint16)
    t = rng.uniform(0, 0.1, len(xyz)).astype(np.float32)
    cols = {
        "ring": ring,
        "intensity": inten,
        "z": xyz[:, 2],
        "time": t,
        "x": xyz[:, 0],
        "y": xyz[:, 1],
    }
    msg = make_cloud(cols, point_step=40, pad_row=8, big=big)
    out = pointcloud2_to_arrays(msg)
    np.testing.assert_array_equal(out.xyz, xyz)
    np.testing.assert_array_equal(out.intensity, inten)
    np.testing.assert_array_equal(out.fields["ring"].ravel(), ring)


def test_organised_cloud_keeps_layout(rng):
    xyz, inten = xyzi(rng, 24)
    xyz[5] = np.nan
    cols = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "intensity": inten}
    out = pointcloud2_to_arrays(make_cloud(cols, height=4, pad_row=4))
    assert out.valid.shape == (4, 6)
    assert not out.valid[0, 5] and out.valid.sum() == 23
    np.testing.assert_array_equal(out.fields["x"][1], xyz[6:12, 0])  # row-major, not transposed
    assert out.xyz.shape == (23, 3)


def test_nan_and_inf_dropped_even_if_is_dense_lies(rng):
    xyz, inten = xyzi(rng)
    xyz[0, 0], xyz[3, 2] = np.nan, np.inf
    cols = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "intensity": inten}
    out = pointcloud2_to_arrays(make_cloud(cols, is_dense=True))
    assert len(out.xyz) == len(xyz) - 2 and len(out.intensity) == len(xyz) - 2
    keep = pointcloud2_to_arrays(make_cloud(cols), skip_nans=False)
    assert len(keep.xyz) == len(xyz)


def test_float64_fields(rng):
    xyz = rng.normal(size=(10, 3)) * 1e3
    cols = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    out = pointcloud2_to_arrays(make_cloud(cols))
    assert out.xyz.dtype == np.float64
    np.testing.assert_array_equal(out.xyz, xyz)


def test_reflectivity_alias_and_int_intensity(rng):
    xyz, _ = xyzi(rng)
    refl = np.arange(len(xyz), dtype=np.uint8)
    cols = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "reflectivity": refl}
    out = pointcloud2_to_arrays(make_cloud(cols))
    np.testing.assert_array_equal(out.intensity, refl.astype(np.float32))


def test_empty_cloud_is_not_an_error():
    out = pointcloud2_to_arrays(arrays_to_pointcloud2(np.zeros((0, 3))))
    assert out.xyz.shape == (0, 3)

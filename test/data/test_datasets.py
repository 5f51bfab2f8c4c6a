import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from test.conftest import KITTI_OBJECT, KITTI_RAW, PJLAB, require_shared
from test.data.layouts import R_CAM, nuscenes_layout, odometry_layout
from vp2p_ros.data import (
    BUNDLED_KITTI_RAW,
    NuScenesTables,
    kitti_raw_indices,
    load_bundled_frames,
    load_kitti_object,
    load_kitti_odometry,
    load_kitti_raw,
    load_nuscenes,
    load_pjlab,
    split_projection_matrix,
)
from vp2p_ros.data.io import read_key_value_calib, read_velodyne_bin
from vp2p_ros.errors import DatasetError
from vp2p_ros.geometry import make_transform, rpy_to_matrix, transform_points


def in_image_stats(frame):
    pc = transform_points(frame.T_cam_lidar, frame.points.astype(np.float64))
    _, ok = frame.camera.project(pc)
    return int(ok.sum()), float(np.median(pc[ok, 2]))


@pytest.mark.parametrize("index", [70, 71, 72, 73, 74])
def test_kitti_raw_real_frames_project(index):
    frame = load_kitti_raw(require_shared(KITTI_RAW), index)
    n, med = in_image_stats(frame)
    assert n > 5000 and 3.0 < med < 40.0
    assert frame.image.shape == (375, 1242, 3) and frame.stamp_ns == index * 100_000_000


def test_kitti_raw_matches_readme_projection():
    """P_rect_02 @ R_rect_00 @ Tr_velo_to_cam, as the data README states it."""
    root = require_shared(KITTI_RAW)
    frame = load_kitti_raw(root, 70)
    c = read_key_value_calib(root / "calib_cam_to_cam.txt")
    v = read_key_value_calib(root / "calib_velo_to_cam.txt")
    R = np.eye(4)
    R[:3, :3] = c["R_rect_00"].reshape(3, 3)
    uvw = (
        c["P_rect_02"].reshape(3, 4)
        @ R
        @ make_transform(v["R"].reshape(3, 3), v["T"])
        @ np.c_[frame.points, np.ones(len(frame.points))].T
    ).T
    uv_ref = uvw[:, :2] / uvw[:, 2:]
    uv, ok = frame.camera.project(transform_points(frame.T_cam_lidar, frame.points.astype(float)))
    np.testing.assert_allclose(uv[ok], uv_ref[ok], atol=1e-9)


def test_split_projection_matrix_closed_form():
    K = np.array([[700.0, 0, 600], [0, 700, 180], [0, 0, 1]])
    t = np.array([0.06, -0.001, 0.003])
    Kp, T = split_projection_matrix(np.c_[K, K @ t])
    np.testing.assert_allclose(Kp, K)
    np.testing.assert_allclose(T[:3, 3], t, atol=1e-15)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_kitti_object_real_frames_project(index):
    n, med = in_image_stats(load_kitti_object(require_shared(KITTI_OBJECT), index))
    assert n > 5000 and 3.0 < med < 40.0


def test_pjlab_distorted_rig_projects():
    frame = load_pjlab(require_shared(PJLAB))
    assert frame.camera.distortion_model == "plumb_bob" and not frame.camera.is_pinhole
    assert frame.image.shape == (1200, 1920, 3) and len(frame.points) > 80000
    n, med = in_image_stats(frame)
    assert n > 5000 and 2.0 < med < 60.0
    assert frame.intensity.max() <= 255 and frame.stamp_ns > 1.5e18


def test_pjlab_pcd_fields_are_sane():
    from vp2p_ros.data import read_pcd

    cloud = read_pcd(require_shared(PJLAB) / "calib.pcd")
    assert cloud.dtype.names == ("x", "y", "z", "intensity", "ring", "timestamp")
    assert cloud["ring"].max() < 128 and len(np.unique(cloud["ring"])) > 16
    span = np.ptp(cloud["timestamp"])
    assert 0.0 < span < 0.2  # one sweep of a 10 Hz LiDAR


def test_bundled_frames_are_intact_and_load():
    sums = (BUNDLED_KITTI_RAW / "SHA256SUMS").read_text().split("\n")
    for line in filter(None, sums):
        digest, name = line.split()
        assert hashlib.sha256((BUNDLED_KITTI_RAW / name).read_bytes()).hexdigest() == digest
    frames = load_bundled_frames()
    assert [f.name[-2:] for f in frames] == ["70", "71", "72", "73", "74"]
    assert (BUNDLED_KITTI_RAW / "README.md").read_text().count("CC BY-NC-SA 3.0") >= 1


def test_kitti_raw_timestamps_file(tmp_path):
    drive = tmp_path / "drive"
    shutil.copytree(BUNDLED_KITTI_RAW, drive)
    (drive / "image_02" / "timestamps.txt").write_text(
        "\n".join(
            f"2011-09-26 13:02:{25 + i // 10:02d}.{(i % 10) * 100000000 + 12345:09d}"
            for i in range(80)
        )
        + "\n"
    )
    f = load_kitti_raw(drive, 71)
    assert f.stamp_ns == np.datetime64("2011-09-26T13:02:32.100012345", "ns").astype(np.int64)


def test_kitti_odometry_layout_matches_object_loader(tmp_path):
    """Build VP2P's odometry layout from a KITTI object frame; both loaders must agree."""
    src = require_shared(KITTI_OBJECT)
    obj = load_kitti_object(src, 1)
    vel = odometry_layout(tmp_path, src)
    odo = load_kitti_odometry(tmp_path, 7, 5)
    np.testing.assert_allclose(odo.T_cam_lidar, obj.T_cam_lidar, atol=1e-9)
    np.testing.assert_array_equal(odo.points, obj.points)
    assert odo.normals.shape == odo.points.shape
    np.save(vel / "000005.npy", np.zeros((4, 3)))
    with pytest.raises(DatasetError, match="expected a 7xN array"):
        load_kitti_odometry(tmp_path, 7, 5)


def test_nuscenes_tables(tmp_path, rng):
    """A two-sensor nuScenes fixture with known poses: the point at the camera's optical axis."""
    pts, poses = nuscenes_layout(tmp_path, rng)
    frame = load_nuscenes(NuScenesTables(tmp_path), "S")

    def T(R, t):
        return make_transform(np.asarray(R), np.asarray(t, dtype=float))

    p_lidar = pts[:, :3].astype(float)
    p_global = transform_points(
        T(*poses["el"]) @ T(rpy_to_matrix([0, 0, -np.pi / 2]), [0.9, 0, 1.8]), p_lidar
    )
    world_to_cam = np.linalg.inv(T(*poses["ec"]) @ T(R_CAM, [1.5, 0, 1.5]))
    np.testing.assert_allclose(
        transform_points(frame.T_cam_lidar, p_lidar),
        transform_points(world_to_cam, p_global),
        atol=1e-9,
    )
    assert frame.stamp_ns == 1_000_000 and frame.points_stamp_ns == 1_050_000
    with pytest.raises(DatasetError, match="no key frame on channel CAM_BACK"):
        load_nuscenes(NuScenesTables(tmp_path), "S", camera="CAM_BACK")


class TestReaderErrors:
    def test_missing_drive(self, tmp_path):
        with pytest.raises(DatasetError, match="calib_cam_to_cam.txt not found"):
            load_kitti_raw(tmp_path, 0)

    def test_truncated_scan(self, tmp_path):
        (tmp_path / "x.bin").write_bytes(b"\0" * 18)
        with pytest.raises(DatasetError, match="18 bytes is not a multiple of 4 float32"):
            read_velodyne_bin(tmp_path / "x.bin")

    def test_corrupt_image(self, tmp_path):
        from vp2p_ros.data.io import read_rgb

        (tmp_path / "x.png").write_bytes(b"not a png")
        with pytest.raises(DatasetError, match="cannot decode image"):
            read_rgb(tmp_path / "x.png")

    def test_calib_missing_entry(self, tmp_path):
        (tmp_path / "calib.txt").write_text("K: 1 0 0 0 1 0 0 0 1\nD: 0 0 0 0 0\n")
        with pytest.raises(DatasetError, match="missing entry 'T'"):
            load_pjlab(tmp_path)

    def test_nuscenes_missing_table(self, tmp_path):
        with pytest.raises(DatasetError, match="nuScenes table not found"):
            NuScenesTables(tmp_path)


def test_indices_of_bundled_drive():
    assert kitti_raw_indices(BUNDLED_KITTI_RAW) == [70, 71, 72, 73, 74]
    assert kitti_raw_indices(Path("/nonexistent")) == []

"""Small on-disk dataset layouts for loader tests (KITTI odometry, nuScenes)."""

import json
import shutil

import cv2
import numpy as np

from vp2p_ros.data.io import read_key_value_calib, read_velodyne_bin
from vp2p_ros.geometry import rpy_to_matrix

R_CAM = rpy_to_matrix([-np.pi / 2, 0, -np.pi / 2])  # nuScenes camera: optical z = ego x


def odometry_layout(tmp_path, src):
    """VP2P's odometry layout (sequence 7, frame 5) built from KITTI object frame 1 under
    ``src``; returns the velodyne folder."""
    calib = read_key_value_calib(src / "calib" / "000001.txt")
    R0 = np.eye(4)
    R0[:3, :3] = calib["R0_rect"].reshape(3, 3)
    Tr = R0 @ np.vstack([calib["Tr_velo_to_cam"].reshape(3, 4), [0, 0, 0, 1]])  # velo -> cam0
    (tmp_path / "calib" / "7").mkdir(parents=True)
    (tmp_path / "calib" / "7" / "calib.txt").write_text(
        "".join(f"P{k}: " + " ".join(map(str, calib[f"P{k}"])) + "\n" for k in range(4))
        + "Tr: "
        + " ".join(map(str, Tr[:3].ravel()))
        + "\n"
    )
    img = tmp_path / "data_odometry_color/sequences/07/image_2"
    img.mkdir(parents=True)
    shutil.copy(src / "image_2" / "000001.png", img / "000005.png")
    vel = tmp_path / "data_odometry_velodyne/sequences/07/voxel0.1-SNr0.6"
    vel.mkdir(parents=True)
    scan = read_velodyne_bin(src / "velodyne" / "000001.bin")
    normals = np.tile([0.0, 0.0, 1.0], (len(scan), 1))
    np.save(vel / "000005.npy", np.concatenate([scan, normals], 1).T.astype(np.float32))
    return vel


def nuscenes_layout(tmp_path, rng):
    """A two-sensor nuScenes dataroot, sample "S"; returns (lidar points, ego poses)."""
    ver = tmp_path / "v1.0-mini"
    ver.mkdir()
    (tmp_path / "samples").mkdir()
    cv2.imwrite(str(tmp_path / "samples" / "cam.jpg"), np.zeros((90, 160, 3), np.uint8))
    pts = np.zeros((4, 5), np.float32)
    pts[:, :3] = rng.normal(size=(4, 3)) * 5
    pts.tofile(tmp_path / "samples" / "lidar.pcd.bin")

    def wxyz(R):
        from vp2p_ros.geometry import matrix_to_quaternion

        x, y, z, w = matrix_to_quaternion(R)
        return [float(w), float(x), float(y), float(z)]

    poses = {
        "ec": (rpy_to_matrix([0, 0, 0.1]), [10.0, 5.0, 0.0]),
        "el": (rpy_to_matrix([0, 0, 0.12]), [10.5, 5.1, 0.0]),
    }
    tables = {
        "sensor": [
            {"token": "s_cam", "channel": "CAM_FRONT"},
            {"token": "s_lid", "channel": "LIDAR_TOP"},
        ],
        "calibrated_sensor": [
            {
                "token": "c_cam",
                "sensor_token": "s_cam",
                "translation": [1.5, 0.0, 1.5],
                "rotation": wxyz(R_CAM),
                "camera_intrinsic": [[100, 0, 80], [0, 100, 45], [0, 0, 1]],
            },
            {
                "token": "c_lid",
                "sensor_token": "s_lid",
                "translation": [0.9, 0.0, 1.8],
                "rotation": wxyz(rpy_to_matrix([0, 0, -np.pi / 2])),
                "camera_intrinsic": [],
            },
        ],
        "ego_pose": [
            {"token": k, "rotation": wxyz(R), "translation": t, "timestamp": 0}
            for k, (R, t) in poses.items()
        ],
        "sample_data": [
            {
                "token": "sd_cam",
                "sample_token": "S",
                "calibrated_sensor_token": "c_cam",
                "ego_pose_token": "ec",
                "filename": "samples/cam.jpg",
                "timestamp": 1000,
                "is_key_frame": True,
            },
            {
                "token": "sd_lid",
                "sample_token": "S",
                "calibrated_sensor_token": "c_lid",
                "ego_pose_token": "el",
                "filename": "samples/lidar.pcd.bin",
                "timestamp": 1050,
                "is_key_frame": True,
            },
        ],
    }
    for name, recs in tables.items():
        (ver / f"{name}.json").write_text(json.dumps(recs))
    return pts, poses

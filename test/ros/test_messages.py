"""The converters with the real rclpy message classes, and the generated vp2p_ros messages."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs the wheels)")
from geometry_msgs.msg import Transform  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from test.msgconv.helpers import make_cloud, make_image  # noqa: E402
from vp2p_ros.camera import CameraModel  # noqa: E402
from vp2p_ros.msgconv import (  # noqa: E402
    array_to_image,
    arrays_to_pointcloud2,
    image_to_array,
    pointcloud2_to_arrays,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.ros


def wire(msg):
    """Serialize and deserialize: what a subscriber receives."""
    return deserialize_message(serialize_message(msg), type(msg))


def test_cloud_round_trip_through_cdr(rng):
    xyz = rng.normal(size=(100, 3)).astype(np.float32)
    inten = rng.uniform(0, 1, 100).astype(np.float32)
    msg = arrays_to_pointcloud2(
        xyz, inten, frame_id="velo", msg_cls=PointCloud2, field_cls=PointField, header_cls=Header
    )
    out = pointcloud2_to_arrays(wire(msg))
    np.testing.assert_array_equal(out.xyz, xyz)
    np.testing.assert_array_equal(out.intensity, inten)


def test_padded_big_endian_cloud_as_rclpy_message(rng):
    xyz = rng.normal(size=(12, 3)).astype(np.float32)
    cols = {"intensity": np.ones(12, np.float32), "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    msg = make_cloud(
        cols,
        point_step=32,
        pad_row=4,
        big=True,
        height=3,
        msg_cls=PointCloud2,
        field_cls=PointField,
    )
    np.testing.assert_array_equal(pointcloud2_to_arrays(wire(msg)).xyz, xyz)


def test_image_round_trip_through_cdr(rng):
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    msg = array_to_image(rgb, "bgr8", frame_id="cam", msg_cls=Image, header_cls=Header)
    np.testing.assert_array_equal(image_to_array(wire(msg)), rgb)
    padded = make_image(rgb, "rgb8", pad=3, msg_cls=Image)
    np.testing.assert_array_equal(image_to_array(wire(padded)), rgb)


def test_camera_info_real_message():
    info = CameraInfo()
    info.width, info.height = 640, 480
    info.distortion_model = "plumb_bob"
    info.d = [0.1, -0.05, 0.0, 0.0, 0.0]
    info.k = [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]
    cam = CameraModel.from_camera_info(wire(info))
    assert cam.K[0, 0] == 500 and cam.D[0] == pytest.approx(0.1)


class TestCalibrationEstimate:
    def test_fields_constants_and_round_trip(self):
        from vp2p_ros.msg import CalibrationEstimate

        m = CalibrationEstimate()
        assert len(m.covariance) == 36
        assert [
            m.STATE_INITIALIZING,
            m.STATE_CONVERGED,
            m.STATE_DRIFT_SUSPECTED,
            m.STATE_DRIFT_CONFIRMED,
            m.STATE_FAILED,
        ] == [0, 1, 2, 3, 4]
        m.parent_frame_id, m.child_frame_id = "camera_optical", "velodyne"
        m.transform = Transform()
        m.transform.rotation.w = 1.0
        m.covariance = np.diag([1e-4] * 3 + [1e-5] * 3).ravel().tolist()
        m.num_matches, m.num_inliers, m.quality, m.state = 2800, 1500, 0.75, 1
        got = wire(m)
        assert got.child_frame_id == "velodyne" and got.num_inliers == 1500
        np.testing.assert_allclose(
            np.reshape(got.covariance, (6, 6)), np.diag([1e-4] * 3 + [1e-5] * 3)
        )

    def test_field_checks_reject_wrong_covariance_length(self):
        from vp2p_ros.msg import CalibrationEstimate

        if os.environ.get("ROS_PYTHON_CHECK_FIELDS") != "1":
            pytest.skip("ROS_PYTHON_CHECK_FIELDS=1 is set by scripts/test.sh")
        m = CalibrationEstimate()
        with pytest.raises(AssertionError):
            m.covariance = [0.0] * 35
            serialize_message(m)

    def test_type_hash_matches_independent_implementation(self):
        """rosbags hashes the .msg text itself; rosidl generated the JSON in the build."""
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore

        share = _install_share("vp2p_ros")
        generated = json.loads((share / "msg" / "CalibrationEstimate.json").read_text())
        store = get_typestore(Stores.ROS2_JAZZY)
        store.register(
            get_types_from_msg(
                (ROOT / "msg" / "CalibrationEstimate.msg").read_text(),
                "vp2p_ros/msg/CalibrationEstimate",
            )
        )
        want = store.hash_rihs01("vp2p_ros/msg/CalibrationEstimate")
        assert generated["type_hashes"][0]["hash_string"] == want


def _install_share(pkg: str) -> Path:
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) + [
        os.environ.get("VP2P_ROS_INSTALL", "")
    ]:
        if prefix and (Path(prefix) / "share" / pkg / "package.xml").is_file():
            return Path(prefix) / "share" / pkg
    pytest.skip(f"{pkg} is not installed in an ament prefix (run scripts/test.sh)")


def test_tf2_msgs_is_wire_identical_to_real_tf2():
    """The CI shim (or a real tf2_msgs) announces the official TFMessage hash."""
    share = _install_share("tf2_msgs")
    generated = json.loads((share / "msg" / "TFMessage.json").read_text())
    hashes = {h["type_name"]: h["hash_string"] for h in generated["type_hashes"]}
    assert hashes["tf2_msgs/msg/TFMessage"] == (
        "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"
    )


def test_colcon_install_layout():
    """colcon build installs what `ros2 run` / `ros2 launch` look for."""
    share = _install_share("vp2p_ros")
    prefix = share.parents[1]
    for exe in ("vp2p_demo", "vp2p_calibration_node", "vp2p_make_bag", "vp2p_replay_bag"):
        assert os.access(prefix / "lib" / "vp2p_ros" / exe, os.X_OK)
    for sub in ("launch", "config", "models"):
        assert (share / sub).is_dir()
    assert (share / "config" / "protocol.yaml").is_file()
    assert (
        prefix / "share" / "ament_index" / "resource_index" / "packages" / "vp2p_ros"
    ).is_file()
    site = next((prefix / "lib").glob("python3*/site-packages/vp2p_ros"))
    assert (site / "msg" / "_calibration_estimate.py").is_file()
    assert (site / "geometry" / "lie.py").is_file() and (site / "__init__.py").read_text().count(
        "extend_path"
    ) == 2

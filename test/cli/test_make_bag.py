"""A bag written from the bundled frames reads back, through our converters, as the same frames."""

import numpy as np
import pytest

from vp2p_ros.calib.frames import frame_from_messages
from vp2p_ros.cli.make_bag import TOPICS, main
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import quaternion_to_matrix


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_round_trip(tmp_path, storage):
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    out = tmp_path / "bag"
    assert main([str(out), "--frames", "2", "--storage", storage]) == 0
    store = get_typestore(Stores.ROS2_HUMBLE)
    by_topic = {}
    with Reader(out) as reader:
        assert {c.topic for c in reader.connections} == {t for t, _ in TOPICS.values()}
        for conn, stamp, raw in reader.messages():
            by_topic.setdefault(conn.topic, []).append(
                (stamp, store.deserialize_cdr(raw, conn.msgtype))
            )
    frames = load_bundled_frames(2)
    for k, frame in enumerate(frames):
        (t_img, img), (_, info), (_, cloud) = (
            by_topic[TOPICS[n][0]][k] for n in ("image", "info", "points")
        )
        assert t_img == 10**9 + k * 10**8
        back = frame_from_messages(img, info, cloud)
        assert np.array_equal(back.image, frame.image)
        np.testing.assert_array_equal(back.points, frame.points)
        np.testing.assert_allclose(back.camera.K, frame.camera.K)
        tf = by_topic[TOPICS["gt"][0]][k][1].transforms[0]
        R = quaternion_to_matrix(
            np.array(
                [
                    tf.transform.rotation.x,
                    tf.transform.rotation.y,
                    tf.transform.rotation.z,
                    tf.transform.rotation.w,
                ]
            )
        )
        # KITTI's rectified extrinsic is orthonormal only to ~1e-7; a quaternion cannot carry more
        np.testing.assert_allclose(R, frame.T_cam_lidar[:3, :3], atol=1e-6)
        assert (tf.header.frame_id, tf.child_frame_id) == ("camera_optical", "velodyne")


def test_refuses_an_existing_folder(tmp_path):
    from rosbags.rosbag2 import WriterError

    with pytest.raises(WriterError, match="exists"):
        main([str(tmp_path), "--frames", "1"])

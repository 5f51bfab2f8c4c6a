"""Synchronised frames from a rosbag2 (.mcap / .db3) without ROS: rosbags + our synchroniser.

Pairs ``image``, ``camera_info`` and ``points`` with the node's :class:`ApproximateTimeSync`
(same semantics, so offline and live calibration see the same sets), and converts each set with
:func:`frame_from_messages`. Sets that cannot be converted are counted and skipped, not fatal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vp2p_ros.data.bag import read_bag
from vp2p_ros.data.frame import Frame
from vp2p_ros.errors import DatasetError, Vp2pError

__all__ = ["BagFrames", "ground_truth", "transform_to_matrix"]


def transform_to_matrix(tf) -> np.ndarray:
    """geometry_msgs/Transform (any duck-typed object) -> (4, 4)."""
    from vp2p_ros.geometry import make_transform, quaternion_to_matrix

    q = tf.rotation
    R = quaternion_to_matrix(np.array([q.x, q.y, q.z, q.w], float))
    return make_transform(R, [tf.translation.x, tf.translation.y, tf.translation.z])


@dataclasses.dataclass
class BagFrames:
    """Iterate the synchronised frames of one camera and the LiDAR in a bag.

    Attributes:
        image_topic, info_topic, points_topic: topics to pair.
        slop_s: largest stamp spread of a set.
        skipped: sets that failed conversion, with their reason (filled while iterating).
        frame_ids: (camera frame, LiDAR frame) of the first converted set.
    """

    bag: str | Path
    image_topic: str = "/camera/image"
    info_topic: str = "/camera/camera_info"
    points_topic: str = "/points"
    slop_s: float = 0.05
    skipped: list = dataclasses.field(default_factory=list)
    frame_ids: tuple = ("camera", "lidar")

    def __iter__(self) -> Iterator[Frame]:
        from rosbags.typesys import Stores, get_typestore

        from vp2p_ros.calib.frames import frame_from_messages
        from vp2p_ros.calib.sync import ApproximateTimeSync

        store = get_typestore(Stores.ROS2_HUMBLE)
        topics = [self.image_topic, self.info_topic, self.points_topic]
        ready: list[tuple] = []
        sync = ApproximateTimeSync(
            3, 10, self.slop_s, lambda *s: ready.append(s), jump_back_ns=10**9
        )
        for msg in read_bag(self.bag, topics):
            try:
                m = store.deserialize_cdr(msg.raw, msg.msgtype)
            except Exception as e:  # a corrupt record: skip it, keep the rest of the bag
                self.skipped.append(f"{msg.topic} @ {msg.stamp_ns}: {type(e).__name__}: {e}")
                continue
            stamp = int(m.header.stamp.sec) * 10**9 + int(m.header.stamp.nanosec)
            sync.add(topics.index(msg.topic), stamp, m)
            while ready:
                image, info, cloud = ready.pop(0)
                try:
                    frame = frame_from_messages(image, info, cloud)
                except Vp2pError as e:
                    self.skipped.append(f"set @ {stamp}: {type(e).__name__}: {e}")
                    continue
                self.frame_ids = (image.header.frame_id, cloud.header.frame_id)
                yield frame


def ground_truth(bag: str | Path, topic: str = "/vp2p/ground_truth") -> np.ndarray | None:
    """The first ``T_cam_lidar`` on a ground-truth TFMessage topic, or None if the bag has none."""
    from rosbags.typesys import Stores, get_typestore

    from vp2p_ros.data.bag import bag_topics

    if topic not in bag_topics(bag):
        return None
    store = get_typestore(Stores.ROS2_HUMBLE)
    for msg in read_bag(bag, [topic]):
        tfs = store.deserialize_cdr(msg.raw, msg.msgtype).transforms
        if tfs:
            return transform_to_matrix(tfs[0].transform)
    raise DatasetError(f"{topic} in {bag} holds no transform")

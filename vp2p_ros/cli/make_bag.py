"""Write a rosbag2 (.mcap or .db3) from dataset frames: Image, CameraInfo, PointCloud2, GT TF.

Run::

    vp2p-make-bag out/kitti_bundled            # the 5 bundled KITTI frames at 10 Hz, mcap
    vp2p-make-bag out/kitti --storage sqlite3 --rate 5

Topics (frames ``camera_optical`` and ``velodyne``): ``/camera/image`` (rgb8),
``/camera/camera_info``, ``/points`` (x, y, z, intensity float32) and, for evaluation only,
``/vp2p/ground_truth`` (``tf2_msgs/TFMessage`` with ``T_cam_lidar``, parent = camera). No ROS
installation is needed: messages are serialised by ``rosbags``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vp2p_ros.data import Frame, load_bundled_frames
from vp2p_ros.geometry import matrix_to_quaternion

__all__ = ["TOPICS", "main", "write_bag"]

TOPICS = {
    "image": ("/camera/image", "sensor_msgs/msg/Image"),
    "info": ("/camera/camera_info", "sensor_msgs/msg/CameraInfo"),
    "points": ("/points", "sensor_msgs/msg/PointCloud2"),
    "gt": ("/vp2p/ground_truth", "tf2_msgs/msg/TFMessage"),
}
CAMERA_FRAME, LIDAR_FRAME = "camera_optical", "velodyne"


def _messages(T, frame: Frame, stamp_ns: int) -> dict:
    """rosbags message objects of one frame (``T`` = the typestore's type namespace)."""
    sec, nsec = divmod(int(stamp_ns), 10**9)

    def header(frame_id):
        return T["std_msgs/msg/Header"](
            stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec), frame_id=frame_id
        )

    h, w = frame.image.shape[:2]
    image = T["sensor_msgs/msg/Image"](
        header=header(CAMERA_FRAME),
        height=h,
        width=w,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * w,
        data=np.ascontiguousarray(frame.image).reshape(-1),
    )
    f = frame.camera.to_camera_info_fields()
    roi = T["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    info = T["sensor_msgs/msg/CameraInfo"](
        header=header(CAMERA_FRAME),
        height=f["height"],
        width=f["width"],
        distortion_model=f["distortion_model"],
        d=np.asarray(f["d"], float),
        k=np.asarray(f["k"], float),
        r=np.asarray(f["r"], float),
        p=np.asarray(f["p"], float),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )
    inten = (
        frame.intensity if frame.intensity is not None else np.zeros(len(frame.points), np.float32)
    )
    rec = np.c_[frame.points.astype(np.float32), inten.astype(np.float32)]
    field = T["sensor_msgs/msg/PointField"]
    fields = [field(name=n, offset=4 * i, datatype=7, count=1) for i, n in enumerate("xyz")]
    fields.append(field(name="intensity", offset=12, datatype=7, count=1))
    cloud = T["sensor_msgs/msg/PointCloud2"](
        header=header(LIDAR_FRAME),
        height=1,
        width=len(rec),
        fields=fields,
        is_bigendian=False,
        point_step=16,
        row_step=16 * len(rec),
        data=rec.view(np.uint8).reshape(-1),
        is_dense=True,
    )
    q = matrix_to_quaternion(frame.T_cam_lidar[:3, :3])
    tr = frame.T_cam_lidar[:3, 3]
    transform = T["geometry_msgs/msg/Transform"](
        translation=T["geometry_msgs/msg/Vector3"](x=tr[0], y=tr[1], z=tr[2]),
        rotation=T["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3]),
    )
    gt = T["tf2_msgs/msg/TFMessage"](
        transforms=[
            T["geometry_msgs/msg/TransformStamped"](
                header=header(CAMERA_FRAME), child_frame_id=LIDAR_FRAME, transform=transform
            )
        ]
    )
    return {"image": image, "info": info, "points": cloud, "gt": gt}


def write_bag(
    out: str | Path, frames: list[Frame], rate_hz: float = 10.0, storage: str = "mcap"
) -> Path:
    """Write ``frames`` as a rosbag2 folder at ``rate_hz`` (stamps start at 1 s).

    Returns:
        the bag folder.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
    out = Path(out)
    with Writer(out, version=8, storage_plugin=plugin) as writer:
        conns = {k: writer.add_connection(t, ty, typestore=store) for k, (t, ty) in TOPICS.items()}
        for i, frame in enumerate(tqdm(frames, desc="writing bag", unit="frame")):
            stamp = 10**9 + round(i * 1e9 / rate_hz)
            for key, msg in _messages(store.types, frame, stamp).items():
                writer.write(conns[key], stamp, store.serialize_cdr(msg, TOPICS[key][1]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="bag folder to create (must not exist)")
    ap.add_argument("--frames", type=int, default=None, help="limit the bundled frames")
    ap.add_argument("--rate", type=float, default=10.0, help="Hz")
    ap.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    args = ap.parse_args(argv)
    path = write_bag(args.out, load_bundled_frames(args.frames), args.rate, args.storage)
    print(f"wrote {path}")
    return 0

"""``vp2p_calibration_node``: sync -> worker thread -> estimate -> gate -> TF / pose / diagnostics.

Adapter only: subscriptions feed :class:`ApproximateTimeSync` (callbacks never block), a
:class:`LatestWinsWorker` per camera runs :class:`CameraCalibrator`, and its decisions are turned
into messages here.
"""

from __future__ import annotations

import dataclasses
import traceback

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.clock import Clock, ClockType, JumpThreshold
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from vp2p_ros.calib import (
    ApproximateTimeSync,
    CameraCalibrator,
    LatestWinsWorker,
    NodeConfig,
    QualityGate,
    published_pose,
)
from vp2p_ros.calib.estimate import estimate_window
from vp2p_ros.calib.frames import frame_from_messages, stamp_ns
from vp2p_ros.calib.fusion import DriftConfig, DriftDetector, PoseFusion
from vp2p_ros.calib.node_config import DESCRIPTIONS
from vp2p_ros.errors import Vp2pError
from vp2p_ros.msgconv import array_to_image
from vp2p_ros.ros import messages, tf_out
from vp2p_ros.viz import draw_projection, label

__all__ = ["CalibrationNode", "main"]


class _Camera:
    """Subscriptions, synchroniser, worker and publishers of one camera."""

    def __init__(self, node: CalibrationNode, name: str, estimator):
        cfg = node.cfg
        self.node, self.name = node, name
        gate = QualityGate(cfg.min_inliers, cfg.max_rotation_std_deg, cfg.max_translation_std_m)
        drift = None
        if cfg.drift_nominal != "off":
            # a window estimator's estimates share frames: the scatter learning allows for it
            window = estimate_window(estimator)
            drift = DriftDetector(
                DriftConfig(threshold=cfg.drift_threshold, estimate_window=window)
            )
        self.calib = CameraCalibrator(
            estimator,
            cfg.T_cam_lidar_initial,
            gate,
            fusion=PoseFusion() if cfg.fuse else None,
            drift=drift,
            nominal=cfg.T_cam_lidar_initial if cfg.drift_nominal == "initial" else None,
        )
        self.sync = ApproximateTimeSync(
            3,
            cfg.sync_queue_size,
            cfg.sync_slop_s,
            self._on_set,
            offsets_ns=[0, 0, round(cfg.points_offset_s * 1e9)],
            jump_back_ns=round(cfg.jump_back_s * 1e9) if cfg.jump_back_s > 0 else None,
        )
        self.latest_tf = None  # (T_parent_child, parent, child) last broadcast
        self.worker = LatestWinsWorker(self._work, self._on_error, name=f"vp2p-{name}")
        # drawing never delays the next estimate: its own latest-wins thread
        self.overlay_worker = LatestWinsWorker(
            self._draw_overlay, self._on_error, name=f"vp2p-{name}-overlay"
        )
        qos = qos_profile_sensor_data
        for i, (cls, topic) in enumerate(
            ((Image, f"{name}/image"), (CameraInfo, f"{name}/camera_info"))
        ):
            node.create_subscription(cls, topic, lambda m, i=i: self._add(i, m), qos)
        self.pose_pub = node.create_publisher(PoseWithCovarianceStamped, f"~/{name}/extrinsic", 10)
        self.est_pub = node.create_publisher(node.msg_cls, f"~/{name}/estimate", 10)
        self.overlay_pub = node.create_publisher(Image, f"~/{name}/overlay", 2)

    def _add(self, index, msg):
        try:
            self.sync.add(index, stamp_ns(msg.header), msg)
        except Exception as e:  # a malformed header must not kill the executor
            self.calib.record_error(f"unusable {type(msg).__name__}: {e}")

    def _on_set(self, image, info, cloud):
        self.worker.submit((image, info, cloud))

    def _on_error(self, exc, text):
        self.calib.record_error(f"{type(exc).__name__}: {exc}")
        self.node.get_logger().error(f"[{self.name}] estimator failed:\n{text}")

    def _work(self, job):
        image, info, cloud = job
        try:
            frame = frame_from_messages(image, info, cloud)
        except Vp2pError as e:
            self.calib.record_error(f"{type(e).__name__}: {e}")
            return
        out = self.calib.process(frame)
        if not self.node.context.ok():  # shut down mid-estimate (SIGINT): nowhere to publish
            return
        self._publish(out, image, cloud, frame)

    def _publish(self, out, image, cloud, frame):
        cfg = self.node.cfg
        cam_frame, lidar_frame = image.header.frame_id, cloud.header.frame_id
        default_parent, default_child = (
            (cam_frame, lidar_frame) if cfg.direction == "cam_lidar" else (lidar_frame, cam_frame)
        )
        parent, child = cfg.parent_frame or default_parent, cfg.child_frame or default_child
        header = type(image.header)(stamp=image.header.stamp, frame_id=parent)
        est = out.estimate
        T = cov = None
        if out.accepted:
            T, cov = published_pose(est.T_cam_lidar, est.covariance, cfg.direction)
            self.latest_tf = (T, parent, child)
            self.node.tf.sendTransform(messages.transform_stamped(T, header, child))
            self.pose_pub.publish(messages.pose_msg(T, cov, header))
        quality = float(out.accepted)
        self.est_pub.publish(
            messages.calibration_msg(
                self.node.msg_cls,
                T,
                cov,
                header,
                parent,
                child,
                est,
                out.state,
                quality,
                "" if out.accepted else out.reason,
                out.drift_delta,
            )
        )
        current = self.calib.current
        if cfg.publish_overlay and current is not None:
            self.overlay_worker.submit((frame, current.T_cam_lidar, image.header))

    def _draw_overlay(self, job):
        frame, T_cam_lidar, header = job
        rgb = draw_projection(frame.image, frame.points, T_cam_lidar, frame.camera)
        if self.node.cfg.overlay_initial:
            T0 = self.node.cfg.T_cam_lidar_initial
            first = draw_projection(frame.image, frame.points, T0, frame.camera)
            rgb = np.concatenate([label(rgb, "current"), label(first, "initial")], axis=0)
        msg = array_to_image(
            rgb,
            "rgb8",
            msg_cls=Image,
            header_cls=type(header),
            frame_id=header.frame_id,
            stamp=header.stamp,
        )
        self.overlay_pub.publish(msg)

    def status(self) -> DiagnosticStatus:
        level, message, values = self.calib.diagnostics()
        values["received_image_info_points"] = ",".join(map(str, self.sync.stats.received))
        values["synchronised_sets"] = str(self.sync.stats.emitted)
        values["sync_resets"] = str(self.sync.stats.resets)
        values["dropped_sets"] = str(self.worker.dropped)
        if self.sync.stats.received[0] and not self.sync.stats.received[1]:
            level, message = 2, "no camera_info received: cannot synchronise"
        return DiagnosticStatus(
            level=bytes([level]),
            name=f"vp2p_ros: {self.name}",
            message=message,
            hardware_id=self.name,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )


class CalibrationNode(Node):
    """The calibration node; ``estimator`` overrides the checkpoint (tests, custom pipelines)."""

    def __init__(self, estimator=None, **kwargs):
        super().__init__("vp2p_calibration_node", **kwargs)
        from vp2p_ros.msg import CalibrationEstimate

        self.msg_cls = CalibrationEstimate
        values = {}
        for f in dataclasses.fields(NodeConfig):
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            desc = ParameterDescriptor(description=DESCRIPTIONS[f.name])
            values[f.name] = self.declare_parameter(f.name, default, desc).value
        self.cfg = NodeConfig.from_dict(values)  # ValueError names every invalid parameter
        make = (lambda: estimator) if estimator is not None else _estimator_factory(self.cfg)
        first = make()
        if first is None:
            self.get_logger().warn("estimator none: estimates are reported, never published")
        else:
            self.get_logger().info(f"estimator: {first.name}")
        self.tf = tf_out.make(self, static=self.cfg.static_tf)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.cameras = [
            _Camera(self, name, first if i == 0 else make())
            for i, name in enumerate(self.cfg.cameras)
        ]
        self.create_subscription(
            PointCloud2, self.cfg.points_topic, self._on_points, qos_profile_sensor_data
        )
        self.clock_jumps_back = 0
        self.sim_time = bool(self.get_parameter("use_sim_time").value)
        # a bag loop / restarted /clock: stale queued messages would pair across the jump
        if self.cfg.tf_republish_hz > 0 and not self.cfg.static_tf:
            self.create_timer(1.0 / self.cfg.tf_republish_hz, self._republish_tf)
        self._jump_handle = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1)),
            post_callback=self._on_time_jump,
        )
        # steady timer: diagnostics keep coming while sim time is paused or has not started
        self.create_timer(
            self.cfg.diagnostics_period_s,
            self.publish_diagnostics,
            clock=Clock(clock_type=ClockType.STEADY_TIME),
        )

    def _republish_tf(self):
        from std_msgs.msg import Header

        stamp = self.get_clock().now().to_msg()
        for cam in self.cameras:
            if cam.latest_tf is not None:
                T, parent, child = cam.latest_tf
                header = Header(stamp=stamp, frame_id=parent)
                self.tf.sendTransform(messages.transform_stamped(T, header, child))

    def _on_time_jump(self, jump):
        if jump.delta.nanoseconds < 0:
            self.clock_jumps_back += 1
            for cam in self.cameras:
                cam.sync.reset()

    def _on_points(self, msg):
        for cam in self.cameras:
            cam._add(2, msg)

    def publish_diagnostics(self):
        arr = DiagnosticArray()
        now = self.get_clock().now()
        arr.header.stamp = now.to_msg()
        arr.status = [cam.status() for cam in self.cameras]
        waiting = self.sim_time and now.nanoseconds == 0
        for st in arr.status:
            st.values += [
                KeyValue(key="clock", value="sim (/clock)" if self.sim_time else "system"),
                KeyValue(key="clock_jumps_back", value=str(self.clock_jumps_back)),
            ]
            if waiting and st.level < bytes([2]):
                st.level = bytes([1])
                st.message = f"use_sim_time is true but no /clock received; {st.message}"
        self.diag_pub.publish(arr)

    def destroy_node(self):
        for cam in self.cameras:
            cam.worker.stop()
            cam.overlay_worker.stop()
        return super().destroy_node()


def _estimator_factory(cfg: NodeConfig):
    """A callable giving each camera its estimator (VP2P's network is shared; refinement keeps
    per-camera frames)."""
    kind = cfg.estimator
    if kind == "auto":
        kind = "vp2p" if cfg.checkpoint else "refine"
    if kind == "none":
        return lambda: None
    if kind == "refine":
        from vp2p_ros.refine import RefineConfig, RefineEstimator

        rc = RefineConfig(
            rotation_std_deg=cfg.refine_rotation_std_deg,
            translation_std_m=cfg.refine_translation_std_m,
            translation_starts=cfg.refine_translation_starts,
            mi_weight=cfg.refine_mi_weight,
        )
        return lambda: RefineEstimator(
            rc,
            window=cfg.refine_window,
            min_contrast=cfg.refine_min_contrast,
            edge_options={"orientation_leak": cfg.refine_orientation_leak},
        )
    import torch

    from vp2p_ros.calib.vp2p_estimator import Vp2pEstimator

    if not cfg.checkpoint:
        raise ValueError("estimator vp2p needs the checkpoint parameter")
    device = (
        cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    shared = Vp2pEstimator.from_checkpoint(cfg.checkpoint, device=device)
    return lambda: shared


def main(args=None):
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = None
    try:
        node = CalibrationNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        traceback.print_exc()
        raise
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    main()

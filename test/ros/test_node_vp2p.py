"""The node with VP2P's learned estimator: it loads a checkpoint of ours and runs the network +
probabilistic PnP on a real KITTI frame in its worker, reporting the outcome on /diagnostics."""

from pathlib import Path

import numpy as np
import pytest
import torch

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")

from test.ros.helpers import (  # noqa: E402
    node_outputs,
    ros_context,
    sensor_publishers,
    single_frame,
    spin_until,
)
from vp2p_ros.data import load_bundled_frames  # noqa: E402
from vp2p_ros.model import PRESETS, VP2PMatchNet  # noqa: E402
from vp2p_ros.model.weights import save_safetensors  # noqa: E402
from vp2p_ros.ros.messages import frame_messages  # noqa: E402
from vp2p_ros.ros.node import CalibrationNode  # noqa: E402

pytestmark = pytest.mark.ros


def test_vp2p_estimator_from_a_checkpoint_runs_in_the_worker(tmp_path):
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny.safetensors"
    protocol = {"image_scale": 0.2, "crop_height": 64, "crop_width": 128, "num_points": 2048}
    save_safetensors(VP2PMatchNet(PRESETS["tiny"]), ckpt, protocol=protocol)
    params = single_frame(estimator="vp2p", checkpoint=str(ckpt), device="cpu")
    with ros_context(
        lambda ctx: CalibrationNode(context=ctx, parameter_overrides=params),
        lambda ctx: rclpy.create_node("peer", context=ctx),
    ) as (ex, (node, peer)):
        cam = node.cameras[0]
        est = cam.calib.estimator
        assert est.name == "vp2p" and est.protocol.image_scale == 0.2  # the trained protocol
        got, pubs = node_outputs(peer), sensor_publishers(peer)
        assert spin_until(ex, lambda: all(p.get_subscription_count() > 0 for p in pubs))
        for p, m in zip(pubs, frame_messages(load_bundled_frames(1)[0], 10**9)):
            p.publish(m)
        assert spin_until(ex, lambda: cam.worker.processed == 1, max_spins=3000)
        got["diag"].clear()  # the diagnostics timer may have published before the estimate
        node.publish_diagnostics()
        assert spin_until(ex, lambda: got["diag"])
        values = {kv.key: kv.value for kv in got["diag"][-1].status[0].values}
        # an untrained network's scores stay under the released 0.95 cut: no matches, so the
        # estimate is rejected with its reason and nothing reaches TF
        assert values["frames"] == "1" and values["errors"] == "0"
        assert values["rejected"] == "1" and values["last_reason"], values
        assert float(values["inference_latency_s"]) > 0 and not got["tf"]


def test_demo_runs_the_network_when_given_weights():
    from vp2p_ros.ros.demo import _node_command

    cmd = " ".join(_node_command(np.eye(4), Path("models/w.safetensors")))
    assert "estimator:=vp2p" in cmd and "checkpoint:=" in cmd and cmd.endswith("w.safetensors")
    assert "estimator:=refine" in " ".join(_node_command(np.eye(4)))

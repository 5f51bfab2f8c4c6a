"""The CUDA path of the pure-torch network and a mixed-precision training step (skipped without
a GPU; run on a lent one with ``python -m pytest test/model/test_cuda.py``)."""

import numpy as np
import pytest
import torch

from test.model.test_network import inputs
from vp2p_ros.model import VP2PMatchNet
from vp2p_ros.model.config import PRESETS
from vp2p_ros.model.weights import load_state_dict_file

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_forward_on_cuda_equals_cpu():
    """Same weights, same inputs: FPS / ball query / kNN / sparse conv pick the same points on
    both devices, so every output agrees to float32 accumulation-order noise."""
    torch.manual_seed(0)
    net = VP2PMatchNet(PRESETS["tiny"]).eval()
    x = inputs(net.cfg, B=2)
    with torch.inference_mode():
        cpu = net(x)
        gpu = net.cuda()({k: v.cuda() for k, v in x.items()})
    for key, ref in cpu.items():
        torch.testing.assert_close(gpu[key].cpu(), ref, rtol=1e-3, atol=1e-3, msg=key)


def test_amp_training_step_on_cuda(tmp_path):
    from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame
    from vp2p_ros.protocol import ProtocolConfig
    from vp2p_ros.train.data import PairDataset
    from vp2p_ros.train.trainer import TrainConfig, train

    rig = SyntheticRig(width=620, height=188, focal=360.0, beams=32, azimuth_step_deg=0.4)
    ds = PairDataset(
        [synthetic_frame(s, rig) for s in (1, 2)],
        ProtocolConfig(crop_height=64, crop_width=128, num_points=2048),
        keypoints=64,
    )
    cfg = TrainConfig(steps=3, batch_size=2, out=str(tmp_path), device="cuda", amp=True,
                      pose_weight=1e-3)  # fmt: skip
    last = train(cfg, ds)
    # float16 grad scaling starts at 2^16 and skips the steps whose gradients overflow (their
    # grad_norm is inf): losses and the saved weights must still be finite
    assert last["step"] == 3
    assert all(np.isfinite(last[k]) for k in ("loss", "match", "det", "pose")), last
    sd, _ = load_state_dict_file(tmp_path / "last.safetensors")
    assert all(torch.isfinite(v.float()).all() for v in sd.values())

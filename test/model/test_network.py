"""VP2PMatchNet: the released module tree, forward on real data, gradients, determinism."""

from pathlib import Path

import numpy as np
import pytest
import torch

from test.conftest import KITTI_RAW, require_shared
from vp2p_ros.calib.vp2p_estimator import network_inputs
from vp2p_ros.model import PRESETS, VP2PConfig, VP2PMatchNet, backends

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "vp2p_state_dict.txt"
)


def reference_entries():
    path = require_shared(REFERENCE)
    rows = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines()]
    return [
        (k, eval(shape), dtype)
        for k, shape, dtype in (r for r in rows if len(r) == 3 and not r[0].startswith("#"))
    ]


def random_state_dict(entries, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape, dtype in entries:
        if dtype == "int64":
            out[key] = torch.randint(0, 100, shape, generator=g)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=g) + 0.5
        else:
            out[key] = torch.randn(shape, generator=g) * 0.05
    return out


def inputs(cfg, B=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = cfg.num_points
    return {
        "points": torch.randn(B, n, 3, generator=g) * 8,
        "intensity": torch.rand(B, n, generator=g),
        "normals": torch.nn.functional.normalize(torch.randn(B, n, 3, generator=g), dim=-1),
        "image": torch.rand(B, 3, cfg.image_height, cfg.image_width, generator=g),
    }


def tiny_net(seed=0, B=1):
    """A seeded tiny-config network in eval mode and a batch of inputs for it."""
    cfg = PRESETS["tiny"]
    torch.manual_seed(seed)
    return VP2PMatchNet(cfg).eval(), inputs(cfg, B=B)


def test_state_dict_equals_the_released_one():
    entries = reference_entries()
    sd = VP2PMatchNet().state_dict()
    assert [k for k, _, _ in entries] == list(sd)  # names and order
    for key, shape, dtype in entries:
        assert list(sd[key].shape) == shape, key
        assert str(sd[key].dtype) == f"torch.{dtype}", key
    assert (
        sum(v.numel() for k, v in sd.items() if "running" not in k and "num_batches" not in k)
        == 36_677_448
    )


def test_released_layout_loads_strictly_and_round_trips():
    sd = random_state_dict(reference_entries())
    net = VP2PMatchNet(PRESETS["tiny"])  # same parameters, smaller inputs
    net.load_state_dict(sd, strict=True)
    back = net.state_dict()
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_tiny_forward_shapes_ranges_and_batch_independence():
    cfg = PRESETS["tiny"]
    net, data = tiny_net(B=2)
    with torch.inference_mode():
        out = net(data)
        one = net({k: v[1:] for k, v in data.items()})
    h, w = cfg.image_height // 4, cfg.image_width // 4
    assert out["pixel_features"].shape == (2, 64, h, w) and out["point_features"].shape == (
        2,
        64,
        2048,
    )
    assert out["pixel_scores"].shape == (2, h, w) and out["point_scores"].shape == (2, 2048)
    torch.testing.assert_close(out["pixel_features"].norm(dim=1), torch.ones(2, h, w))
    torch.testing.assert_close(out["point_features"].norm(dim=1), torch.ones(2, 2048))
    assert ((out["point_scores"] > 0) & (out["point_scores"] < 1)).all()
    # eval mode: a sample's outputs do not depend on the other samples of the batch
    torch.testing.assert_close(
        one["point_features"][0], out["point_features"][1], atol=1e-4, rtol=1e-4
    )
    torch.testing.assert_close(
        one["pixel_scores"][0], out["pixel_scores"][1], atol=1e-5, rtol=1e-5
    )


def test_seeded_determinism_on_cpu():
    a, data = tiny_net(seed=3)
    b, _ = tiny_net(seed=3)
    with torch.inference_mode():
        oa, ob = a(data), b(data)
    assert all(torch.equal(oa[k], ob[k]) for k in oa)


def test_gradients_reach_every_used_parameter():
    cfg = PRESETS["tiny"]
    net = VP2PMatchNet(cfg).train()
    out = net(inputs(cfg, B=2))
    loss = sum(out[k].float().square().mean() for k in ("pixel_features", "point_features"))
    loss = loss + out["pixel_scores"].mean() + out["point_scores"].mean()
    loss.backward()
    unused = {"resnet.encoder.backbone.fc.weight", "resnet.encoder.backbone.fc.bias"}
    for name, p in net.named_parameters():
        if name in unused:
            assert p.grad is None
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_full_size_forward_on_a_real_kitti_frame():
    from vp2p_ros.data import load_kitti_raw
    from vp2p_ros.protocol import make_sample

    frame = load_kitti_raw(require_shared(KITTI_RAW), 70)
    s = make_sample(frame, rng=np.random.default_rng(0))
    data = network_inputs(s)
    with torch.inference_mode():
        out = VP2PMatchNet().eval()(data)
    assert out["pixel_features"].shape == (1, 64, 40, 128)
    assert out["point_features"].shape == (1, 64, 40960)
    for k, v in out.items():
        assert torch.isfinite(v).all(), k
    assert out["global_points"].min() >= 0 and out["global_image"].min() >= 0  # post-ReLU pools


def test_backend_selection():
    assert backends.point_ops() is backends.torch_points
    assert backends.sparse_ops() is backends.torch_sparse
    if not backends.available()["pointnet2_ops"]:
        with pytest.raises(ImportError, match="pointnet2_ops"):
            with backends.selected("native", on_cuda=True):
                pass
    with backends.selected("auto", on_cuda=False) as (points, sparse):
        assert points is backends.torch_points and sparse is backends.torch_sparse
    with pytest.raises(ValueError, match="backend"):
        VP2PConfig(backend="cuda")
    with pytest.raises(ValueError, match="unknown VP2PConfig keys"):
        VP2PConfig.from_dict({"num_point": 3})


def test_autocast_bf16_runs_and_stays_close():
    """Mixed precision (bf16 autocast, as on CUDA) through every op, checked on the CPU."""
    net, data = tiny_net()
    with torch.inference_mode():
        ref = net(data)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(data)
    for k in ("pixel_scores", "point_scores"):
        assert torch.isfinite(low[k].float()).all()
        assert (low[k].float() - ref[k]).abs().max() < 0.05, k
    cos = (low["point_features"].float() * ref["point_features"]).sum(1)
    assert cos.median() > 0.95

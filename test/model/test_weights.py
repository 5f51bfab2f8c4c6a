"""Checkpoint I/O: the released .pth layout, our safetensors, and clear errors."""

import pytest
import torch

from vp2p_ros.errors import CheckpointError
from vp2p_ros.model import PRESETS, VP2PMatchNet
from vp2p_ros.model.weights import file_sha256, load_model, save_safetensors


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return VP2PMatchNet(PRESETS["tiny"])


@pytest.mark.parametrize("wrap", ["raw", "state_dict", "model", "module_prefix"])
def test_released_pth_formats_load(tmp_path, net, wrap):
    sd = net.state_dict()
    obj = {
        "raw": sd,
        "state_dict": {"state_dict": sd, "epoch": 3},
        "model": {"model": sd},
        "module_prefix": {f"module.{k}": v for k, v in sd.items()},
    }[wrap]
    path = tmp_path / "vp2p.pth"
    torch.save(obj, path)
    model, meta = load_model(path, PRESETS["tiny"])
    assert meta == {} and not model.training
    assert all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())


def test_safetensors_round_trip_with_metadata(tmp_path, net):
    path = tmp_path / "ours.safetensors"
    sha = save_safetensors(net, path, training_data="synthetic", metrics={"rre": 1.5})
    assert sha == file_sha256(path)
    model, meta = load_model(path)
    assert model.cfg == net.cfg  # rebuilt from the stored config
    assert meta["json_training_data"] == "synthetic" and meta["json_metrics"] == {"rre": 1.5}
    assert all(torch.equal(model.state_dict()[k], v) for k, v in net.state_dict().items())


def test_errors_name_the_problem(tmp_path, net):
    sd = dict(net.state_dict())
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pth")
    good = tmp_path / "good.pth"
    torch.save(sd, good)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_model(truncated)
    missing = {k: v for k, v in sd.items() if k != "voxel_branch.stem.0.kernel"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match="missing key 'voxel_branch.stem.0.kernel'"):
        load_model(tmp_path / "missing.pth")
    wrong = dict(sd, **{"pc_score_head.0.weight": torch.zeros(3, 3, 1)})
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match="pc_score_head.0.weight.*shape"):
        load_model(tmp_path / "wrong.pth")
    torch.save({"not": "weights"}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="does not hold a state_dict"):
        load_model(tmp_path / "other.pth")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="safetensors"):
        load_model(tmp_path / "bad.safetensors")


class Evil:
    def __reduce__(self):
        return (print, ("this would run arbitrary code",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": Evil()}, path)
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        load_model(path)


def test_float16_export_keeps_metadata_and_loads_into_float32(tmp_path, net):
    from vp2p_ros.cli.export_weights import main

    src = tmp_path / "train.safetensors"
    save_safetensors(net, src, step=7, data={"source": "synthetic"})
    (tmp_path / "summary.txt").write_text("success 42 %\n")
    dst = tmp_path / "models" / "ship.safetensors"
    argv = [str(src), str(dst), "--meta", f"eval_summary={tmp_path / 'summary.txt'}"]
    assert main([*argv, "--meta", 'licence="Apache-2.0"']) == 0
    assert dst.stat().st_size < 0.55 * src.stat().st_size
    model, meta = load_model(dst)
    assert meta["json_step"] == 7 and meta["json_data"] == {"source": "synthetic"}
    assert meta["json_eval_summary"] == "success 42 %\n" and meta["json_licence"] == "Apache-2.0"
    assert meta["json_stored_dtype"] == "float16" and model.cfg == net.cfg
    for k, v in net.state_dict().items():
        got = model.state_dict()[k]
        assert got.dtype == v.dtype
        if v.is_floating_point():
            torch.testing.assert_close(got, v, rtol=1e-3, atol=1e-4)


def test_int8_export_is_a_quarter_and_within_half_a_step(tmp_path, net):
    from vp2p_ros.model.weights import quantize_int8

    path = tmp_path / "q.safetensors"
    save_safetensors(net, path, dtype=torch.int8)
    full = tmp_path / "f.safetensors"
    save_safetensors(net, full)
    assert path.stat().st_size < 0.3 * full.stat().st_size
    model, meta = load_model(path)
    assert meta["json_stored_dtype"] == "int8"
    stored = quantize_int8(net.state_dict())
    for k, v in net.state_dict().items():
        got = model.state_dict()[k]
        scale = stored.get(k + ".__int8_scale__")
        if scale is None:
            assert torch.equal(got, v), k  # small tensors and buffers stay exact
        else:
            step = scale.reshape(-1, *[1] * (v.dim() - 1))
            assert ((got - v).abs() <= step / 2 + 1e-7).all(), k

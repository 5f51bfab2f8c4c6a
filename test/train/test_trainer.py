"""The training loop on CPU: it learns (overfit check), resumes exactly, and runs under DDP."""

import dataclasses
import os
import socket

import numpy as np
import pytest
import torch

from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame
from vp2p_ros.model.weights import load_state_dict_file
from vp2p_ros.protocol import ProtocolConfig
from vp2p_ros.train.data import PairDataset
from vp2p_ros.train.trainer import TrainConfig, loss_curve, train

RIG = SyntheticRig(width=620, height=188, focal=360.0, beams=32, azimuth_step_deg=0.4)
TINY = ProtocolConfig(crop_height=64, crop_width=128, num_points=2048)  # PRESETS["tiny"] sizes


@pytest.fixture(scope="module")
def frames():
    return [synthetic_frame(s, RIG) for s in (11, 12)]


def dataset(frames, n=1):
    return PairDataset(frames[:n], TINY, keypoints=64, seed=0)


def test_pairs_dataset_items(frames):
    item = dataset(frames)[0]
    assert item["image"].shape == (3, 64, 128) and item["points"].shape == (2048, 3)
    assert item["positive"].shape == (64, 64) and item["positive"].any()
    again = dataset(frames)[0]
    assert all(torch.equal(item[k], again[k]) for k in item)  # seeded
    ds = dataset(frames)
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["points"], item["points"])  # new draws per epoch


def test_training_drives_the_matching_loss_down_on_one_pair(frames, tmp_path):
    """The overfitting check: 30 steps on one synthetic pair (the same perturbation each
    epoch would make it trivial; new draws each epoch keep it a real check)."""
    cfg = TrainConfig(steps=30, batch_size=1, lr=1e-3, out=str(tmp_path), checkpoint_every=100)
    last = train(cfg, dataset(frames))
    rows = np.genfromtxt(tmp_path / "log.csv", delimiter=",", names=True)
    assert len(rows) == 30 and np.isfinite(rows["loss"]).all()
    assert rows["match"][-5:].mean() < 0.9 * rows["match"][:5].mean()
    assert rows["det"][-5:].mean() < 0.85 * rows["det"][:5].mean()  # measured 0.75
    assert last["grad_norm"] > 0
    loss_curve(tmp_path / "log.csv", tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 5000
    _, meta = load_state_dict_file(tmp_path / "last.safetensors")
    assert meta["json_step"] == 30 and meta["json_train_config"]["lr"] == 1e-3


@pytest.fixture
def one_thread():
    """CPU training is bitwise reproducible only single-threaded (measured: two 2-thread runs
    of 4 steps differ by up to 0.16 in a weight, identical with one thread)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_resume_continues_exactly(frames, tmp_path, one_thread):
    cfg = TrainConfig(steps=4, batch_size=1, out=str(tmp_path / "a"), checkpoint_every=2)
    train(cfg, dataset(frames))
    train(dataclasses.replace(cfg, steps=2, out=str(tmp_path / "b")), dataset(frames))
    train(dataclasses.replace(cfg, out=str(tmp_path / "b")), dataset(frames), resume=True)
    a, _ = load_state_dict_file(tmp_path / "a" / "last.safetensors")
    b, meta = load_state_dict_file(tmp_path / "b" / "last.safetensors")
    assert meta["json_step"] == 4
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def _ddp_worker(rank, port, out, frames):
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE="2",
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    cfg = TrainConfig(steps=2, batch_size=1, out=out, checkpoint_every=10, device="cpu")
    train(cfg, PairDataset(frames, TINY, keypoints=64, seed=0))
    torch.distributed.destroy_process_group()


def test_two_process_ddp_on_gloo(frames, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(
        _ddp_worker, args=(port, str(tmp_path), frames), nprocs=2, join=True
    )
    sd, meta = load_state_dict_file(tmp_path / "last.safetensors")
    assert meta["json_step"] == 2 and all(torch.isfinite(v).all() for v in sd.values())
    assert len(open(tmp_path / "log.csv").read().splitlines()) == 3  # rank 0 logs alone


def test_train_cli_runs_from_a_config_file(tmp_path):
    from vp2p_ros.cli.train import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "train: {preset: tiny, steps: 2, batch_size: 1, checkpoint_every: 10}\n"
        "protocol: {crop_height: 64, crop_width: 128, num_points: 2048}\n"
        "data: {source: synthetic, scenes: 1, rig: small, keypoints: 32}\n"
    )
    assert main(["--config", str(cfg), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "curve.png").is_file() and (
        tmp_path / "o" / "last.safetensors"
    ).is_file()
    cfg.write_text("train: {steps: 1}\nmodel: {}\n")
    with pytest.raises(SystemExit, match="unknown section"):
        main(["--config", str(cfg)])

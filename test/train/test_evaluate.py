"""vp2p-eval on the bundled frames with a (random) tiny checkpoint: every output, sane numbers."""

import pytest
import torch

from vp2p_ros.cli.evaluate import main
from vp2p_ros.model import VP2PMatchNet
from vp2p_ros.model.config import PRESETS
from vp2p_ros.model.weights import save_safetensors


def test_eval_writes_the_papers_metrics_and_pictures(tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = tmp_path / "tiny.safetensors"
    save_safetensors(VP2PMatchNet(PRESETS["tiny"]), ckpt, note="random weights")
    argv = ["--data_path", "bundled", "--load_ckpt", str(ckpt), "--exp_name", "t"]
    argv += ["--out", str(tmp_path), "--mode", "vis_registration", "--score_thres", "0.5"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "5 pairs" in text and "success (RRE<5°, RTE<2 m)" in text
    folder = tmp_path / "t"
    rows = (folder / "pairs.csv").read_text().splitlines()
    assert len(rows) == 6 and rows[0].startswith("pair,frame,status,matches,inliers,rte,rre")
    assert (folder / "errors.png").stat().st_size > 5000
    for name in ("proj_input", "proj_pred", "proj_gt"):
        assert (folder / f"0000_{name}.png").is_file()
    # an untrained network does not register: the success rate stays low
    assert float(text.split("success (RRE<5°, RTE<2 m) ")[1].split(" %")[0]) <= 40.0


def test_untrained_baseline_and_protocol_from_a_training_config(tmp_path, capsys):
    """``random:tiny`` is the seeded untrained network; --config supplies the protocol and the
    val frames (here 2 bundled frames at a smaller image scale)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "protocol: {image_scale: 0.2, crop_height: 64, crop_width: 128, num_points: 2048}\n"
        "val: {source: kitti_raw, limit: 2}\n"
    )
    argv = ["--config", str(cfg), "--load_ckpt", "random:tiny", "--out", str(tmp_path)]
    assert main([*argv, "--exp_name", "a", "--mode", "vis_registration"]) == 0
    text = capsys.readouterr().out
    assert "a: 2 pairs, checkpoint random:tiny" in text
    assert "input (perturbation, no registration)" in text
    assert main([*argv, "--exp_name", "b"]) == 0  # same seed: same network, same pairs
    a, b = ((tmp_path / n / "pairs.csv").read_text() for n in "ab")
    assert a == b
    import cv2

    gt = cv2.imread(str(tmp_path / "a" / "0000_proj_gt.png"))
    assert gt.shape[:2] == (64, 128)  # the crop of the 0.2-scaled image
    with pytest.raises(SystemExit):
        main(["--load_ckpt", "random:tiny"])  # no frames named

"""Shipped weights: each has a card naming its sha256, loads strictly, and runs as the node's
estimator on a real frame."""

from pathlib import Path

import numpy as np
import pytest

from vp2p_ros.calib.vp2p_estimator import Vp2pEstimator
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.model.weights import file_sha256

MODELS = Path(__file__).resolve().parents[1] / "models"
WEIGHTS = sorted(MODELS.glob("*.safetensors"))


def test_every_weight_file_is_listed_with_a_card():
    index = (MODELS / "README.md").read_text()
    for path in WEIGHTS:
        card = path.with_suffix(".md")
        assert card.is_file(), f"{path.name} has no model card"
        assert file_sha256(path) in card.read_text(), f"{card.name} names another sha256"
        assert path.name in index


@pytest.mark.parametrize("path", WEIGHTS, ids=[p.stem for p in WEIGHTS])
def test_weights_load_and_run_as_the_node_estimator(path):
    est = Vp2pEstimator.from_checkpoint(path)
    assert est.protocol.crop_width == est.model.cfg.image_width  # the trained protocol
    frame = load_bundled_frames(1)[0]
    out = est.estimate(frame, frame.T_cam_lidar)
    assert out.estimator == "vp2p" and out.num_matches >= 0
    if out.status == "ok":
        assert np.isfinite(out.T_cam_lidar).all() and np.isfinite(out.covariance).all()

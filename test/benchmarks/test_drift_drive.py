"""benchmarks.drift_drive: its flags reach the node pipeline's refinement."""

import torch

from benchmarks.drift_drive import estimator_options, parse_args
from vp2p_ros.data.synthetic import synthetic_sequence
from vp2p_ros.refine import RefineConfig
from vp2p_ros.refine.align import prepare
from vp2p_ros.refine.estimator import RefineEstimator
from vp2p_ros.refine.features import ORIENTATION_LEAK


def test_default_flags_give_the_refinement_its_defaults():
    options = estimator_options(parse_args([]))
    assert options["config"] == RefineConfig()
    assert options["edge_options"] == {"oriented": True, "orientation_leak": ORIENTATION_LEAK}


def test_cost_flags_reach_prepare_and_the_search():
    args = parse_args(["--orientation-leak", "0", "--mi-weight", "0", "--thin-beam-edges"])
    options = estimator_options(args)
    assert options["config"].mi_weight == 0.0
    assert options["edge_options"] == {
        "oriented": True,
        "orientation_leak": 0.0,
        "boundary_shift": (0.5, 0.5),
    }
    est = RefineEstimator(**options)  # what node_pipeline builds
    frame = synthetic_sequence(1, 1)[0]
    split = prepare([frame], est.config.sigmas_px, **est.edge_options)[0]
    leaky = prepare([frame], est.config.sigmas_px, boundary_shift=(0.5, 0.5))[0]  # default leak
    assert torch.equal(leaky.points, split.points)  # same LiDAR edges, other image maps
    assert not torch.allclose(leaky.maps[0], split.maps[0])

"""The README's main job, shortened: bag -> node process -> replay -> calibrated extrinsic."""

import re

import pytest

pytest.importorskip("rclpy", reason="rclpy not installed (scripts/test.sh installs it)")
pytestmark = pytest.mark.ros


def test_main_job_calibrates_from_a_3deg_15cm_start(tmp_path, capsys):
    from vp2p_ros.ros.demo import main

    # lockstep (the default): every frame is refined, however slow this machine is
    assert main(["--out", str(tmp_path), "--loops", "2", "--rate", "0.1"]) == 0
    text = capsys.readouterr().out
    assert "estimator: weight-free edge refinement" in text  # says which estimator runs
    start = re.search(r"initial \(given\)\s+([\d.]+) °\s+([\d.]+) cm", text)
    final = re.search(r"calibrated \(node\)\s+([\d.]+) °\s+([\d.]+) cm", text)
    assert start and final, text
    assert abs(float(start.group(1)) - 3.0) < 1e-3 and abs(float(start.group(2)) - 15.0) < 1e-3
    assert float(final.group(1)) < 1.0 and float(final.group(2)) < 10.0
    assert (tmp_path / "demo_overlay.png").stat().st_size > 100_000
    assert "1-sigma from the published covariance" in text

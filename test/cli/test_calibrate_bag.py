"""vp2p-calibrate-bag end to end on a bag of bundled KITTI frames (ground truth in the bag)."""

import dataclasses
import json
import re

import numpy as np
import pytest
import yaml

from vp2p_ros.calib.export import dvlc_T_cam_lidar, read_calibration_yaml
from vp2p_ros.cli.calibrate_bag import main
from vp2p_ros.cli.make_bag import write_bag
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.data.bag_frames import BagFrames, ground_truth
from vp2p_ros.errors import DatasetError
from vp2p_ros.geometry import inverse_transform, make_transform, pose_difference, rpy_to_matrix


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return write_bag(tmp_path_factory.mktemp("bags") / "kitti", load_bundled_frames(5))


def test_calibrates_a_bag_and_writes_every_output(bag, tmp_path):
    out = tmp_path / "out"
    assert (
        main([str(bag), "--out", str(out), "--initial-from-ground-truth", "3", "0.15", "0"]) == 0
    )
    T_gt = ground_truth(bag)
    T, cov = read_calibration_yaml(out / "calibration.yaml")
    d = pose_difference(T, T_gt)
    assert np.degrees(np.linalg.norm(d[3:])) < 0.6 and np.linalg.norm(d[:3]) < 0.06
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    doc = yaml.safe_load((out / "calibration.yaml").read_text())
    assert doc["T_cam_lidar"]["parent_frame"] == "camera_optical"
    assert doc["T_cam_lidar"]["child_frame"] == "velodyne"
    np.testing.assert_allclose(doc["T_lidar_cam"]["matrix"], inverse_transform(T), atol=1e-9)
    np.testing.assert_allclose(
        dvlc_T_cam_lidar(json.loads((out / "calib.json").read_text())), T, atol=1e-6
    )  # KITTI's rotation is orthonormal to ~1e-7 only; a quaternion cannot carry more
    urdf = (out / "urdf_joint.xml").read_text()
    assert '<parent link="velodyne"/>' in urdf and '<child link="camera_optical"/>' in urdf
    xyz, rpy = (
        np.array(v.split(), float) for v in re.search(r'xyz="(.*)" rpy="(.*)"', urdf).groups()
    )
    np.testing.assert_allclose(
        make_transform(rpy_to_matrix(rpy), xyz), inverse_transform(T), atol=1e-5
    )
    report = (out / "report.md").read_text()
    assert "5 synchronised frames" in report and "ground truth (bag)" in report
    assert len((out / "frames.csv").read_text().splitlines()) == 6  # header + 5 frames
    for png in ("estimates.png", "overlay_before_after.png"):
        assert (out / png).stat().st_size > 10_000


def test_a_bag_too_short_to_converge_still_calibrates_from_the_fusion(tmp_path):
    """Two frames cannot converge the fusion (it needs 3 updates): the unconverged fused mean,
    polished by the joint pass, is the result, and the report says so."""
    bag = write_bag(tmp_path / "short", load_bundled_frames(2))
    out = tmp_path / "out"
    args = ["--initial-from-ground-truth", "2", "0.1", "1", "--translation-starts", "3"]
    assert main([str(bag), "--out", str(out), *args]) == 0
    report = (out / "report.md").read_text()
    assert "2 single-frame estimates passed the quality gate, 0 published" in report
    assert "fused, not converged when the bag ended" in report
    T, _ = read_calibration_yaml(out / "calibration.yaml")
    d = pose_difference(T, ground_truth(bag))
    assert np.degrees(np.linalg.norm(d[3:])) < 0.6 and np.linalg.norm(d[:3]) < 0.06


def test_no_accepted_estimate_exits_2_with_a_report(tmp_path):
    blank = [dataclasses.replace(f, image=np.zeros_like(f.image)) for f in load_bundled_frames(2)]
    bag = write_bag(tmp_path / "blank", blank)
    out = tmp_path / "out"
    assert (
        main([str(bag), "--out", str(out), "--initial-from-ground-truth", "1", "0.05", "0"]) == 2
    )
    assert "0 single-frame estimates passed the quality gate" in (out / "report.md").read_text()


def test_min_contrast_reaches_the_gate(bag, tmp_path):
    """No alignment is that sharp: every estimate is refused as low contrast, none is fused."""
    out = tmp_path / "out"
    argv = [str(bag), "--out", str(out), "--initial-from-ground-truth", "1", "0.05", "0"]
    assert main([*argv, "--max-frames", "2", "--min-contrast", "1e9"]) == 2
    assert "0 single-frame estimates passed the quality gate" in (out / "report.md").read_text()
    assert (out / "frames.csv").read_text().count("low_contrast") == 2


def test_clear_errors_for_missing_initial_and_topics(bag, tmp_path):
    with pytest.raises(SystemExit):  # argparse: "--orientation-leak must lie in [0, 1]"
        main([str(bag), "--out", str(tmp_path), "--orientation-leak", "1.5"])
    with pytest.raises(SystemExit, match="initial extrinsic"):
        main([str(bag), "--out", str(tmp_path / "o")])
    with pytest.raises(DatasetError, match="no topic"):
        list(BagFrames(bag, points_topic="/velodyne_points"))

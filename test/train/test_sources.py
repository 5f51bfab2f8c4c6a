"""Training sources: every dataset reader reachable from a ``data`` config, loaded lazily."""

import numpy as np
import pytest

from test.conftest import KITTI_OBJECT, require_shared
from test.data.layouts import nuscenes_layout, odometry_layout
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.errors import DatasetError
from vp2p_ros.protocol import ProtocolConfig
from vp2p_ros.train.data import PairDataset
from vp2p_ros.train.sources import load_source

TINY = ProtocolConfig(crop_height=64, crop_width=128, num_points=2048)


def _frames(items):
    return [f() if callable(f) else f for f in items]


def test_kitti_raw_defaults_to_the_bundled_drive_and_feeds_pairs():
    items = load_source({"source": "kitti_raw", "limit": 2})
    assert len(items) == 2 and all(callable(f) for f in items)  # read per item, not up front
    frames = _frames(items)
    np.testing.assert_array_equal(frames[1].points, load_bundled_frames(2)[1].points)
    item = PairDataset(items, TINY, keypoints=32)[0]
    assert item["positive"].any() and item["K4"].shape == (3, 3)


def test_kitti_odometry_both_colour_cameras(tmp_path):
    odometry_layout(tmp_path, require_shared(KITTI_OBJECT))
    img3 = tmp_path / "data_odometry_color/sequences/07/image_3"
    img3.mkdir()
    (img3 / "000005.png").write_bytes((img3.parent / "image_2" / "000005.png").read_bytes())
    items = load_source({"source": "kitti_odometry", "path": str(tmp_path), "sequences": [7]})
    left, right = _frames(items)  # each frame gives one sample per colour camera, as VP2P
    assert left.name == right.name == "kitti_odometry/07/000005"
    assert abs(left.T_cam_lidar[0, 3] - right.T_cam_lidar[0, 3]) > 0.4  # ~0.54 m baseline
    with pytest.raises(DatasetError, match="sequence folder not found"):
        load_source({"source": "kitti_odometry", "path": str(tmp_path), "sequences": [8]})


def test_kitti_object_and_nuscenes(tmp_path, rng):
    root = require_shared(KITTI_OBJECT)
    objects = load_source({"source": "kitti_object", "path": str(root), "limit": 1})
    assert _frames(objects)[0].name == "kitti_object/000000"
    nuscenes_layout(tmp_path, rng)
    (frame,) = _frames(load_source({"source": "nuscenes", "path": str(tmp_path)}))
    assert frame.name == "nuscenes/S/CAM_FRONT" and frame.T_cam_lidar is not None


def test_bag_with_ground_truth(tmp_path):
    from vp2p_ros.cli.make_bag import write_bag

    bag = write_bag(tmp_path / "bag", load_bundled_frames(2))
    frames = load_source({"source": "bag", "path": str(bag)})
    truth = load_bundled_frames(2)
    assert len(frames) == 2
    for got, want in zip(frames, truth):
        np.testing.assert_allclose(got.T_cam_lidar, want.T_cam_lidar, atol=1e-6)
        assert got.points.shape == want.points.shape
    with pytest.raises(DatasetError, match="no ground truth on /elsewhere"):
        load_source({"source": "bag", "path": str(bag), "ground_truth_topic": "/elsewhere"})


def test_unknown_source_and_empty_selection(tmp_path):
    with pytest.raises(ValueError, match="data.source must be one of"):
        load_source({"source": "waymo"})
    (tmp_path / "image_2").mkdir()
    with pytest.raises(DatasetError, match="no KITTI object images"):
        load_source({"source": "kitti_object", "path": str(tmp_path)})


def test_synthetic_scenes_are_the_same_generated_in_parallel():
    spec = {"source": "synthetic", "scenes": 2, "rig": "small", "seed": 5}
    serial, parallel = load_source(spec), load_source({**spec, "workers": 2})
    for a, b in zip(serial, parallel):
        assert a.name == b.name
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.image, b.image)

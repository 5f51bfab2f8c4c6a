import numpy as np

from vp2p_ros.cli.demo import main as demo_main
from vp2p_ros.data import load_bundled_frames
from vp2p_ros.geometry import make_transform, so3_exp
from vp2p_ros.viz import depth_colors, draw_projection


def test_depth_colors_near_red_far_blue():
    c = depth_colors(np.array([0.0, 100.0]), max_depth=50)
    assert c[0, 0] > 100 and c[0, 2] < 50 and c[1, 2] > 100 and c[1, 0] < 50


def test_overlay_draws_points_where_projected():
    frame = load_bundled_frames(1)[0]
    out = draw_projection(frame.image, frame.points, frame.T_cam_lidar, frame.camera, radius=0)
    changed = np.any(out != (frame.image * 0.6).astype(np.uint8), axis=2)
    assert changed.sum() > 5000
    behind = make_transform(so3_exp([0, 0, 0]), [0, 0, -500.0]) @ frame.T_cam_lidar
    out2 = draw_projection(frame.image, frame.points, behind, frame.camera, radius=0)
    assert np.array_equal(out2, (frame.image * 0.6).astype(np.uint8))  # all behind: no dots


def test_overlay_nearest_point_wins_each_pixel_in_any_order():
    from vp2p_ros.camera import CameraModel

    cam = CameraModel(100, 100, [[100.0, 0, 50.0], [0, 100.0, 50.0], [0, 0, 1]], [])
    near, far = [0.0, 0.0, 2.0], [0.0, 0.0, 40.0]  # both land on pixel (50, 50)
    grey = np.full((100, 100, 3), 100, np.uint8)
    for pts in ([near, far], [far, near]):
        out = draw_projection(grey, np.array(pts), np.eye(4), cam, radius=1)
        assert np.array_equal(out[50, 50], depth_colors(np.array([2.0]))[0])
        assert np.array_equal(out[49:52, 49:52].reshape(-1, 3).max(0), out[50, 50])  # 3x3 dot
        assert np.array_equal(out[47, 47], (grey[0, 0] * 0.6).astype(np.uint8))


def test_demo_end_to_end(tmp_path, capsys):
    assert demo_main(["--frames", "2", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "ground truth (metric check): RRE 0.00±0.00° RTE 0.00±0.00 m success 100%" in text
    for stem in ("0000000070", "0000000071"):
        for kind in ("proj_input", "proj_gt", "overlay_gt"):
            assert (tmp_path / f"{stem}_{kind}.png").stat().st_size > 10_000
    assert (tmp_path / "demo_overlays.png").is_file()

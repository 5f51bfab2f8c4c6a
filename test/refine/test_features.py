import numpy as np
import pytest

from test.conftest import PJLAB, require_shared
from vp2p_ros.refine import edge_attraction, lidar_edges


def scan(rng, top=0.5):
    """A 32-beam scan of flat ground (z = -1.7), a wall at x = 20 and a box in front of it."""
    az = np.radians(np.arange(-60, 60, 0.2))
    el = np.radians(np.linspace(-15, 5, 32))
    A, E = np.meshgrid(az, el)
    d = np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], -1).reshape(-1, 3)
    t_ground = np.where(d[:, 2] < 0, -1.7 / np.minimum(d[:, 2], -1e-9), np.inf)
    t_wall = 20.0 / d[:, 0]
    t = np.minimum(t_ground, t_wall)
    # the box: x in [8, 9], |y| < 1, z in [-1.7, top]: first hit of its front face x = 8
    t_box = 8.0 / d[:, 0]
    hit = np.abs(t_box * d[:, 1]) < 1.0
    hit &= (t_box * d[:, 2] > -1.7) & (t_box * d[:, 2] < top) & (t_box < t)
    t = np.where(hit, t_box, t)
    return d * (t + rng.normal(0, 0.01, len(t)))[:, None], hit  # range noise, fixed beams


def test_lidar_edges_are_the_box_silhouette_not_the_ground(rng):
    pts, on_box = scan(rng)
    e = lidar_edges(pts)
    assert len(e.points) > 20 and np.all((e.weights > 0) & (e.weights <= 1))
    near_box = np.abs(e.points[:, 0] - 8.0) < 0.2
    assert near_box.mean() > 0.9  # foreground side of the jumps: the box, not the wall
    # both vertical sides (y = +-1) and the top (z = 0.5) are found
    assert np.any(e.points[near_box, 1] > 0.8) and np.any(e.points[near_box, 1] < -0.8)
    assert np.any(e.points[near_box, 2] > 0.3)
    # the top is a jump across rings (horizontal), the sides jumps along a ring (vertical)
    top = near_box & (e.points[:, 2] > 0.3) & (np.abs(e.points[:, 1]) < 0.8)
    side = near_box & (np.abs(e.points[:, 1]) > 0.9) & (e.points[:, 2] < 0.2)
    assert top.any() and side.any()
    assert e.horizontal[top].all() and not e.horizontal[side].any()
    ground = e.points[:, 2] < -1.6
    assert ground.sum() <= 0.1 * len(e.points)  # grazing ground is a slope, not an edge


def test_silhouette_edges_lie_between_the_beams_not_on_the_last_one(rng):
    """The last beam on the box is below its top by a fraction of the beam spacing that depends
    on where the top falls; shifted half-way to the next beam the error averages to ~0."""
    step = 20.0 / 31  # elevation spacing of the scan (deg)
    errors = {(0.0, 0.0): [], (0.0, 0.5): []}
    for top in rng.uniform(0.2, 0.5, 40):  # the top between beams 1.4 and 3.6 deg up
        pts, _ = scan(rng, top)
        for shift in errors:
            e = lidar_edges(pts, boundary_shift=shift).points
            on_top = (np.abs(e[:, 0] - 8.0) < 0.2) & (np.abs(e[:, 1]) < 0.8) & (e[:, 2] > -1.0)
            el = np.degrees(np.arctan2(e[on_top, 2], np.hypot(e[on_top, 0], e[on_top, 1])))
            true = np.degrees(np.arctan2(top, np.hypot(8.0, e[on_top, 1])))
            errors[shift].append(np.mean(el - true) / step)
    assert np.mean(errors[(0.0, 0.0)]) < -0.3  # the nearer return alone: inside the silhouette
    assert abs(np.mean(errors[(0.0, 0.5)])) < 0.15  # 3 standard errors of a 40-draw mean


def test_lidar_edges_ignore_invalid_points(rng):
    pts, _ = scan(rng)
    bad = np.vstack([pts, [[np.nan, 0, 0], [np.inf, 1, 1], [0.1, 0, 0]]])
    e = lidar_edges(bad)
    assert np.all(np.isfinite(e.points)) and len(e.points) == len(lidar_edges(pts).points)


def test_edge_attraction_peaks_on_an_isolated_edge_and_cancels_texture(rng):
    img = np.full((120, 200), 60, np.uint8)
    img[:, 50:] = 180  # one step edge at u = 50
    img[:, 120:] = rng.integers(0, 255, (120, 80))  # noise texture on the right
    maps = edge_attraction(img, (4.0, 1.0))
    for m in maps:
        assert m.shape == img.shape and m.dtype == np.float32
        row = m[60]
        assert abs(int(np.argmax(row[:110])) - 50) <= 1
        # the textured region attracts less than the isolated edge, on average
        assert row[135:185].mean() < 0.5 * row[48:53].mean()


def crossing_edges():
    """A vertical edge at u = 100 and a horizontal one at v = 90."""
    img = np.full((120, 200), 60, np.uint8)
    img[:, 100:] = 180
    img[90:, :] = 250
    return img


def test_oriented_attraction_splits_vertical_from_horizontal_edges():
    img = crossing_edges()
    plain = edge_attraction(img, (2.0,))[0]
    (oriented,) = edge_attraction(img, (2.0,), oriented=True)
    assert oriented.shape == (2, *img.shape) and oriented.dtype == np.float32
    vertical, horizontal = oriented
    assert abs(int(np.argmax(vertical[40])) - 100) <= 1  # channel 0: the vertical edge
    assert abs(int(np.argmax(horizontal[:, 40])) - 90) <= 1  # channel 1: the horizontal one
    assert horizontal[40, 100] < 0.1 * vertical[40, 100]
    assert vertical[90, 40] < 0.1 * horizontal[90, 40]
    # the plain map attracts to both
    assert (
        abs(int(np.argmax(plain[40])) - 100) <= 1 and abs(int(np.argmax(plain[:, 40])) - 90) <= 1
    )


def test_orientation_leak_blends_the_oriented_channels_towards_the_plain_map():
    img = crossing_edges()
    plain = edge_attraction(img, (2.0,))[0]
    (split,) = edge_attraction(img, (2.0,), oriented=True)
    (zero,) = edge_attraction(img, (2.0,), oriented=True, orientation_leak=0.0)
    np.testing.assert_array_equal(zero, split)  # the default is the pure split
    (full,) = edge_attraction(img, (2.0,), oriented=True, orientation_leak=1.0)
    for channel in full:  # all strength in both channels: each is the plain map
        np.testing.assert_allclose(channel, plain, atol=1e-4)
    (half,) = edge_attraction(img, (2.0,), oriented=True, orientation_leak=0.5)
    vertical, horizontal = half
    # each channel keeps its own edges and sees the other orientation at half strength
    assert abs(int(np.argmax(vertical[40])) - 100) <= 1
    assert abs(int(np.argmax(horizontal[:, 40])) - 90) <= 1
    assert 0.45 < horizontal[40, 100] / vertical[40, 100] < 0.55
    assert 0.45 < vertical[90, 40] / horizontal[90, 40] < 0.55
    for leak in (-0.1, 1.5):
        with pytest.raises(ValueError, match="orientation_leak"):
            edge_attraction(img, (2.0,), oriented=True, orientation_leak=leak)


def test_edges_along_rings_take_the_orientation_of_their_line():
    """A kerb crossing the rings at a shallow angle is a horizontal line in the image although
    each ring finds it as a jump between horizontal neighbours; a pole stays vertical."""
    from vp2p_ros.refine.features import _shallow

    edge = np.zeros((12, 200), bool)
    rows = np.arange(12)
    edge[rows, 20 + 6 * rows] = True  # 6 columns per ring: 1.2 deg across 0.4 deg rings
    edge[rows, 150] = True  # a pole: the same column in every ring
    edge[5, 180] = True  # an isolated edge: no line to follow
    flat = _shallow(edge, col_deg=0.2, row_deg=0.4)
    assert flat[rows, 20 + 6 * rows].all()
    assert not flat[rows, 150].any() and not flat[5, 180]
    assert not flat[~edge].any()  # only edge cells are ever horizontal


def test_lidar_edges_find_a_kerb_as_a_horizontal_line(rng):
    """Flat ground at z = -1.7 with a 15 cm kerb along y = 3 (the road side): seen from the
    sensor its top edge crosses many rings at a grazing angle."""
    az = np.radians(np.arange(-60, 60, 0.2))
    el = np.radians(np.linspace(-25, -2, 40))
    A, E = np.meshgrid(az, el)
    d = np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], -1).reshape(-1, 3)
    t = -1.7 / d[:, 2]
    kerb = (t * d[:, 1] > 3.0) & (d[:, 2] < 0)
    t = np.where(kerb, -1.55 / d[:, 2], t)  # the raised side, 15 cm higher
    pts = d * t[:, None]
    e = lidar_edges(pts + rng.normal(0, 0.005, pts.shape))
    on_kerb = (np.abs(e.points[:, 1] - 3.0) < 0.3) & (e.points[:, 0] > 4) & (e.points[:, 0] < 25)
    assert on_kerb.sum() > 10
    assert e.horizontal[on_kerb].mean() > 0.8


def _beam_elevations():
    """A 64-beam layout packed near the horizon: 1/6 deg apart from -6 to +2 deg, 1 and 3 deg
    apart below and above (like the pjlab rig's sensor)."""
    dense = np.arange(-6.0, 2.0, 1 / 6)
    return np.r_[np.arange(-18.0, -6.0, 1.0), dense, np.arange(3.0, 15.0, 3.0)]


def test_rows_follow_unevenly_spaced_rings(rng):
    """Rings closer than the elevation cell each get their own row, in elevation order, with
    their own spacing; fixed cells would put two or three rings in one row."""
    from vp2p_ros.refine.features import _rows

    beams = _beam_elevations()
    beam = rng.integers(0, len(beams), 20000)
    el = beams[beam] + rng.normal(0, 0.003, len(beam))  # a fixed elevation per beam
    row, spacing = _rows(el, 0.4)
    assert row.max() + 1 == len(beams)
    assert np.array_equal(row, np.argsort(np.argsort(beams))[beam])  # one row per beam
    dense = np.abs(beams[np.sort(np.unique(beam))] + 2.0) < 3.5  # well inside the dense band
    assert np.allclose(spacing[dense, 0], 1 / 6, atol=0.03)
    assert spacing[0, 0] == pytest.approx(1.0, abs=0.05)  # the sparse beams below


def test_rows_are_the_rings_of_a_real_uneven_sensor():
    """The pjlab rig's 64-beam sensor reports each point's ring: the rows found from the
    elevations alone are those rings."""
    from vp2p_ros.data.pcd import read_pcd
    from vp2p_ros.refine.features import _rows

    cloud = read_pcd(require_shared(PJLAB) / "calib.pcd")
    p = np.stack([cloud["x"], cloud["y"], cloud["z"]], -1).astype(np.float64)
    r = np.linalg.norm(p, axis=1)
    keep = np.isfinite(r) & (r > 2.0)
    el = np.degrees(np.arcsin(p[keep, 2] / r[keep]))
    row, spacing = _rows(el, 0.4)
    ring = cloud["ring"][keep]
    assert row.max() + 1 == len(np.unique(ring)) == 64
    pairs = np.unique(np.c_[row, ring], axis=0)
    assert len(pairs) == 64  # every row holds exactly one ring
    assert spacing.min() < 0.2  # rings 0.17 deg apart near the horizon, closer than a cell


def test_rows_fall_back_to_elevation_bands_where_rings_smear(rng):
    """A multi-head sensor seen from its centre: a ring's elevation changes with range, the
    histogram has no gaps, so rows are bands of ``res_deg`` (one mean spacing)."""
    from vp2p_ros.refine.features import _rows

    el = np.repeat(np.linspace(-24.0, 2.0, 64), 300) + rng.uniform(-0.3, 0.3, 64 * 300)
    row, spacing = _rows(el, 0.4)
    assert np.isscalar(spacing) and 0.35 < spacing < 0.45
    assert np.array_equal(row, np.unique(np.floor((el - el.min()) / 0.4), return_inverse=True)[1])

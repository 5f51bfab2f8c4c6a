import dataclasses

import numpy as np
import pytest

from vp2p_ros.data.synthetic import SyntheticRig, synthetic_frame, synthetic_sequence
from vp2p_ros.geometry import (
    inverse_transform,
    pose_difference,
    retract_pose,
    se3_exp,
    transform_points,
)
from vp2p_ros.refine import RefineConfig, prepare, refine
from vp2p_ros.refine.align import alignment_score

SMALL = SyntheticRig(width=620, height=188, focal=360.0, beams=32, azimuth_step_deg=0.4)


@pytest.fixture(scope="module")
def frame():
    return synthetic_frame(3, SMALL)


def test_seeded_and_sensor_like(frame):
    again = synthetic_frame(3, SMALL)
    assert np.array_equal(frame.image, again.image) and np.array_equal(frame.points, again.points)
    assert not np.array_equal(frame.image, synthetic_frame(4, SMALL).image)
    r = np.linalg.norm(frame.points, axis=1)
    assert len(frame.points) > 20_000 and r.max() <= SMALL.max_range_m + 0.1
    assert frame.image.shape == (188, 620, 3) and frame.image.dtype == np.uint8
    assert 0 <= frame.intensity.min() and frame.intensity.max() <= 1


def test_both_sensors_see_the_same_reflectance(frame):
    """Ground points: LiDAR intensity and image brightness at the projection agree (markings)."""
    pc = transform_points(frame.T_cam_lidar, frame.points.astype(float))
    uv, ok = frame.camera.project(pc)
    ground = ok & (frame.points[:, 2] < -SMALL.lidar_height + 0.05)
    u, v = np.round(uv[ground]).astype(int).T
    inside = (u >= 0) & (u < 620) & (v >= 0) & (v < 188)
    grey = frame.image[v[inside], u[inside]].mean(1)
    corr = np.corrcoef(grey, frame.intensity[ground][inside])[0, 1]
    assert inside.sum() > 1000 and corr > 0.6


def test_refinement_recovers_the_rig_rotation_on_a_synthetic_drive():
    """Weight-free refinement on two frames of a seeded street (full-size rig), from 2.5 deg /
    14 cm: the rotation comes back (measured 0.18 deg). Translation along a straight corridor is
    weakly observable (measured 10.7 cm), as on real streets; it is not asserted here."""
    rig = SyntheticRig()
    frames = synthetic_sequence(seed=5, num=2, rig=rig)
    T0 = retract_pose(rig.T_cam_lidar, np.r_[0.08, -0.06, 0.1, 0.02, -0.03, 0.02])
    r = refine(frames, T0, RefineConfig())
    d = pose_difference(r.T_cam_lidar, rig.T_cam_lidar)
    assert np.degrees(np.linalg.norm(d[3:])) < 0.5


def test_traffic_drives_along_the_road():
    """Cars in the middle of either half of the road, 6-60 m ahead at time 0, each driving its
    own way (+x on the right half, oncoming on the left) at about the given speed; the street
    itself never moves."""
    from vp2p_ros.data.synthetic import random_scene, random_traffic

    scene = random_scene(np.random.default_rng(2))
    cars = random_traffic(scene, np.random.default_rng(0), 8, 10.0)
    k, y = len(scene.lo), cars.lo[:, 1] + 0.9  # each car's centre line
    assert np.all((np.abs(y) > 0.3 * scene.road_half_width) & (np.abs(y) < scene.road_half_width))
    assert np.all((cars.lo[:, 0] >= 6.0) & (cars.lo[:, 0] <= 60.0))
    assert np.all(np.sign(cars.speed) == -np.sign(y))  # right half (y < 0) drives +x
    assert np.all((np.abs(cars.speed) >= 8.0) & (np.abs(cars.speed) <= 12.0))
    now, later = cars.at(scene, 0.0), cars.at(scene, 0.05)
    for s in (now, later):
        np.testing.assert_array_equal(s.lo[:k], scene.lo)
        np.testing.assert_allclose(s.hi[k:] - s.lo[k:], cars.size)
    np.testing.assert_allclose(
        later.lo[k:] - now.lo[k:], np.c_[0.05 * cars.speed, np.zeros((8, 2))]
    )
    parked = random_traffic(scene, np.random.default_rng(0), 8, 0.0)
    np.testing.assert_array_equal(parked.at(scene, 3.0).lo, parked.at(scene, 0.0).lo)


def test_the_lidar_sees_a_moved_van_where_the_camera_does_not():
    """One van 12 m ahead in the camera's scene, 2 m further in the LiDAR's: the image is that
    of the van at 12 m (up to the pixel noise, drawn after the LiDAR's), the LiDAR's forward
    ranges are 2 m longer."""
    from vp2p_ros.data.synthetic import Scene

    def van(x):
        return Scene(
            np.array([[x, -0.9, 0.0]]),
            np.array([[x + 4.0, 0.9, 2.5]]),  # a van: the level beams hit its back
            np.array([[0.8, 0.2, 0.2]]),
            np.array([[1.0, 0.0, 0.0]]),
        )

    here = synthetic_frame(1, SMALL, van(12.0))
    moved = synthetic_frame(1, SMALL, van(12.0), lidar_scene=van(14.0))
    far = synthetic_frame(1, SMALL, van(14.0))

    def differ(a, b):
        return np.abs(a.image.astype(int) - b.image.astype(int)).max(2)

    assert np.percentile(differ(here, moved), 99.9) < 15 < differ(here, far).max()

    def ahead(f):  # range of the returns straight ahead, level with the LiDAR
        p = f.points
        m = (np.abs(np.arctan2(p[:, 1], p[:, 0])) < 0.02) & (np.abs(p[:, 2]) < 0.3) & (p[:, 0] > 0)
        return np.median(p[m, 0])

    assert abs(ahead(here) - 12.0) < 0.1 and abs(ahead(moved) - 14.0) < 0.1


def test_a_drifted_mount_is_rendered_where_its_extrinsic_says():
    """A rig whose LiDAR frame moved by 1 deg of yaw and 15 cm: its extrinsic is
    T @ exp(step)^-1, the LiDAR sees the street exactly as before (it did not move on the
    vehicle), and the image is the camera's new view: the edges line up under the new
    extrinsic, not the old one. A drive can switch to it part-way with ``start``."""
    step = (0.15, 0.0, 0.0, 0.0, 0.0, np.radians(1.0))
    moved = dataclasses.replace(SMALL, extrinsic_step=step)
    np.testing.assert_allclose(
        moved.T_cam_lidar, SMALL.T_cam_lidar @ inverse_transform(se3_exp(np.array(step)))
    )
    before, after = (
        synthetic_sequence(2, 2, rig=SMALL),
        synthetic_sequence(2, 2, rig=moved, start=1),
    )
    assert len(after) == 1 and after[0].name == before[1].name
    np.testing.assert_array_equal(after[0].points, before[1].points)
    np.testing.assert_allclose(after[0].T_cam_lidar, moved.T_cam_lidar)
    sigmas = RefineConfig().sigmas_px
    d_before, d_after = prepare(before[1:], sigmas), prepare(after, sigmas)
    new, old = moved.T_cam_lidar, SMALL.T_cam_lidar
    assert alignment_score(d_after, new) > 1.5 * alignment_score(d_after, old)
    assert alignment_score(d_before, old) > 1.5 * alignment_score(d_before, new)


def test_a_wide_beam_returns_the_object_it_clips():
    """A pole 0.2 m wide 10 m ahead spans |azimuth| <= 0.573 deg. Thin rays return it where
    their centre falls on it (azimuths 0, +-0.4 on this rig); a beam 0.8 deg wide along the ring
    returns it wherever its footprint touches it (|azimuth| <= 0.573 + 0.4, so +-0.8 too), at
    the pole's range, in the direction of the beam's centre."""
    from vp2p_ros.data.synthetic import Scene

    pole = Scene(
        np.array([[10.0, -0.1, 0.0]]),
        np.array([[10.2, 0.1, 4.0]]),
        np.array([[0.5, 0.5, 0.5]]),
        np.array([[1.0, 0.0, 0.0]]),
    )

    def pole_azimuths(rig):
        p = synthetic_frame(1, rig, pole).points
        on = (np.linalg.norm(p[:, :2], axis=1) < 11.0) & (p[:, 2] > -1.0)
        assert np.all(np.abs(p[on, 0] - 10.0) < 0.05)  # the front face's range
        return np.unique(np.round(np.degrees(np.arctan2(p[on, 1], p[on, 0])), 3))

    np.testing.assert_allclose(pole_azimuths(SMALL), [-0.4, 0.0, 0.4], atol=1e-3)
    wide = dataclasses.replace(SMALL, beam_width_deg=0.8)
    np.testing.assert_allclose(pole_azimuths(wide), [-0.8, -0.4, 0.0, 0.4, 0.8], atol=1e-3)

"""Seeded procedural scenes seen by a ray-cast multi-beam LiDAR and a rendered camera.

The scene (world frame: x forward along the street, y left, z up; ground at z = 0) holds a road
with painted markings, building walls on both sides, parked boxes (cars) and poles. Every
surface has an albedo and a reflectance texture (stripes / checks) that both sensors see: the
LiDAR's intensity is reflectance x |cos(incidence)|, the camera's pixel is albedo x reflectance
x Lambert shading under a sun. So depth edges, reflectivity edges and image edges coincide where
they would in a real street, and the camera-LiDAR task is learnable (and refinement has edges).
The LiDAR's beams are ideal thin rays unless ``SyntheticRig.beam_width_deg`` gives them a
footprint along the ring (a beam that clips an edge then returns the object, as a real one does).

    frame = synthetic_frame(seed=3)                   # a Frame with T_cam_lidar, like KITTI's
    frames = synthetic_sequence(seed=3, num=5)        # the rig driving forward at 10 Hz
    frames = synthetic_sequence(3, 5, traffic=6, lidar_delay_s=0.05)   # cars that move

Moving objects: ``synthetic_frame(lidar_scene=...)`` lets the LiDAR see another scene than the
camera. :class:`Traffic` (cars driving along the road, :func:`random_traffic`) gives both: the
camera sees a car where it is at the exposure, the LiDAR where it is when the LiDAR sweeps past
it, ``lidar_delay_s`` later.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vp2p_ros.camera import CameraModel
from vp2p_ros.data.frame import Frame
from vp2p_ros.geometry import inverse_transform, make_transform, rpy_to_matrix, se3_exp

__all__ = [
    "Scene",
    "SyntheticRig",
    "Traffic",
    "random_scene",
    "random_traffic",
    "synthetic_frame",
    "synthetic_sequence",
]


@dataclasses.dataclass
class Scene:
    """Axis-aligned boxes (lo, hi corners) with albedo (RGB) and texture parameters."""

    lo: np.ndarray  # (K, 3)
    hi: np.ndarray  # (K, 3)
    albedo: np.ndarray  # (K, 3) in [0, 1]
    texture: np.ndarray  # (K, 3): period (m), kind (0 plain, 1 stripes, 2 checks), contrast
    road_half_width: float = 5.0


@dataclasses.dataclass(frozen=True)
class SyntheticRig:
    """Sensors: a KITTI-like camera and LiDAR and the extrinsic between them."""

    width: int = 1242
    height: int = 375
    focal: float = 721.5
    beams: int = 64
    elevation_deg: tuple = (-24.8, 2.0)
    azimuth_step_deg: float = 0.2
    lidar_height: float = 1.73
    range_noise_m: float = 0.01
    max_range_m: float = 80.0
    # the beam's footprint along the ring (deg): 0 is an ideal thin ray; wider, each beam returns
    # the nearest surface that any of ``beam_rays`` rays spread across the footprint hits, so a
    # beam that clips an object's edge returns the object (its silhouette grows by half the
    # width on either side along the ring, as a real beam's does)
    beam_width_deg: float = 0.0
    beam_rays: int = 3
    # T_cam_lidar as xyz + rpy of the camera-from-LiDAR rotation (KITTI-like: camera 27 cm ahead)
    xyz: tuple = (0.06, -0.08, -0.27)
    rpy: tuple = (0.0, -np.pi / 2, np.pi / 2)
    # a drifted mount: the extrinsic becomes T_cam_lidar @ exp(step)^-1, as if the LiDAR frame had
    # moved by this ROS-order step (x y z m, rot-x rot-y rot-z rad) in its own axes; the LiDAR
    # stays where it is on the vehicle and the camera is rendered from where that puts it
    extrinsic_step: tuple = (0.0,) * 6

    @property
    def camera(self) -> CameraModel:
        K = [[self.focal, 0, self.width / 2], [0, self.focal, self.height / 2], [0, 0, 1]]
        return CameraModel(self.width, self.height, K, [])

    @property
    def T_cam_lidar(self) -> np.ndarray:
        T = make_transform(rpy_to_matrix(np.asarray(self.rpy, float)), self.xyz)
        if any(self.extrinsic_step):
            T = T @ inverse_transform(se3_exp(np.asarray(self.extrinsic_step, float)))
        return T


def random_scene(rng: np.random.Generator, length: float = 120.0) -> Scene:
    """A straight street: walls, parked boxes, poles, each with its own look."""
    lo, hi, albedo, tex = [], [], [], []

    def add(a, b, colour, period, kind, contrast):
        lo.append(a), hi.append(b), albedo.append(colour), tex.append((period, kind, contrast))

    road = rng.uniform(4.0, 7.0)
    for side in (-1, 1):  # building fronts in segments, with gaps
        x = -20.0
        while x < length:
            w = rng.uniform(6, 20)
            d = road + rng.uniform(2, 6)
            y0, y1 = sorted((side * d, side * (d + 8)))
            add(
                (x, y0, 0),
                (x + w, y1, rng.uniform(4, 15)),
                rng.uniform(0.3, 0.9, 3),
                rng.uniform(0.5, 3),
                rng.integers(0, 3),
                rng.uniform(0.2, 0.6),
            )
            x += w + rng.uniform(0, 6)
    for _ in range(rng.integers(6, 14)):  # parked cars along the kerbs
        side = rng.choice([-1, 1])
        x, y = rng.uniform(0, length), side * (road - rng.uniform(1.0, 2.0))
        add(
            (x, y - 0.9, 0),
            (x + rng.uniform(3.5, 5), y + 0.9, rng.uniform(1.4, 1.9)),
            rng.uniform(0.1, 0.9, 3),
            1.0,
            0,
            0.0,
        )
    for _ in range(rng.integers(5, 12)):  # poles and sign posts
        side = rng.choice([-1, 1])
        x, y = rng.uniform(0, length), side * (road + rng.uniform(0.3, 1.5))
        r = rng.uniform(0.08, 0.2)
        add(
            (x - r, y - r, 0),
            (x + r, y + r, rng.uniform(3, 8)),
            rng.uniform(0.5, 1.0, 3),
            1.0,
            0,
            0.0,
        )
    return Scene(
        np.array(lo, float),
        np.array(hi, float),
        np.array(albedo, float),
        np.array(tex, float),
        road,
    )


@dataclasses.dataclass(frozen=True)
class Traffic:
    """Cars driving along the road: box corners at time 0 and speed along x (m/s; +: the rig's
    direction, on the right half of the road; -: oncoming, on the left half)."""

    lo: np.ndarray  # (K, 3)
    size: np.ndarray  # (K, 3)
    speed: np.ndarray  # (K,)
    albedo: np.ndarray  # (K, 3)

    def at(self, scene: Scene, t: float) -> Scene:
        """``scene`` with the cars where they are at time ``t`` (s)."""
        lo = self.lo + np.outer(self.speed * t, [1.0, 0.0, 0.0])
        plain = np.tile([1.0, 0.0, 0.0], (len(lo), 1))
        return dataclasses.replace(
            scene,
            lo=np.r_[scene.lo, lo],
            hi=np.r_[scene.hi, lo + self.size],
            albedo=np.r_[scene.albedo, self.albedo],
            texture=np.r_[scene.texture, plain],
        )


def random_traffic(
    scene: Scene, rng: np.random.Generator, count: int, speed_mps: float
) -> Traffic:
    """``count`` cars 6-60 m ahead of the street's start at time 0, in the middle of either half
    of the road, each at ``speed_mps`` +-20 % (0: parked in the lanes)."""
    lane = rng.choice([-1.0, 1.0], count)  # -1: right half, driving +x; +1: left, oncoming
    y = lane * rng.uniform(0.4, 0.6, count) * scene.road_half_width
    lo = np.stack([rng.uniform(6.0, 60.0, count), y - 0.9, np.zeros(count)], 1)
    size = np.stack(
        [rng.uniform(3.8, 5.0, count), np.full(count, 1.8), rng.uniform(1.4, 2.2, count)], 1
    )
    speed = -lane * speed_mps * rng.uniform(0.8, 1.2, count)
    return Traffic(lo, size, speed, rng.uniform(0.1, 0.9, (count, 3)))


def _cast(scene: Scene, origin: np.ndarray, dirs: np.ndarray, max_range: float):
    """Nearest hit per ray: distance (inf: none), object (-1 ground, -2 sky), normal, point."""
    inv = 1.0 / np.where(np.abs(dirs) < 1e-12, 1e-12, dirs)
    t_best = np.full(len(dirs), np.inf)
    obj = np.full(len(dirs), -2, np.int64)
    for k in range(len(scene.lo)):  # slab test per box, vectorised over rays
        t1 = (scene.lo[k] - origin) * inv
        t2 = (scene.hi[k] - origin) * inv
        t_near = np.minimum(t1, t2).max(1)
        t_far = np.maximum(t1, t2).min(1)
        hit = (t_near <= t_far) & (t_near > 0.05) & (t_near < t_best)
        t_best[hit], obj[hit] = t_near[hit], k
    t_ground = np.where(dirs[:, 2] < -1e-9, -origin[2] / np.minimum(dirs[:, 2], -1e-9), np.inf)
    ground = t_ground < t_best
    t_best[ground], obj[ground] = t_ground[ground], -1
    t_best[t_best > max_range] = np.inf
    obj[~np.isfinite(t_best)] = -2
    p = origin + dirs * np.where(np.isfinite(t_best), t_best, 0)[:, None]
    normal = np.zeros_like(dirs)
    normal[obj == -1] = (0, 0, 1)
    boxes = obj >= 0
    if boxes.any():  # the face whose plane the hit point lies on
        k = obj[boxes]
        d_lo, d_hi = np.abs(p[boxes] - scene.lo[k]), np.abs(p[boxes] - scene.hi[k])
        face = np.argmin(np.concatenate([d_lo, d_hi], 1), 1)
        n = np.zeros((boxes.sum(), 3))
        n[np.arange(len(n)), face % 3] = np.where(face < 3, -1.0, 1.0)
        normal[boxes] = n
    return t_best, obj, normal, p


def _reflectance(scene: Scene, obj: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Surface reflectance in [0, 1] at hit points (road markings on the ground)."""
    out = np.zeros(len(obj))
    g = obj == -1
    y, x = p[g, 1], p[g, 0]
    asphalt = 0.15 + 0.02 * (np.floor(x * 2) % 2)
    w = scene.road_half_width
    lane = (np.abs(y) < 0.08) & ((x % 6.0) < 3.0)  # dashed centre line
    edge = np.abs(np.abs(y) - (w - 0.3)) < 0.1  # solid edge lines
    kerb = np.abs(y) > w
    out[g] = np.where(lane | edge, 0.85, np.where(kerb, 0.35, asphalt))
    b = obj >= 0
    k = obj[b]
    period, kind, contrast = scene.texture[k].T
    q = p[b]
    stripes = (np.floor(q[:, 2] / period) % 2) * contrast
    checks = ((np.floor(q[:, 0] / period) + np.floor(q[:, 2] / period)) % 2) * contrast
    pattern = np.where(kind == 1, stripes, np.where(kind == 2, checks, 0.0))
    out[b] = np.clip(0.55 + 0.4 * (scene.albedo[k].mean(1) - 0.5) - pattern * 0.5, 0.05, 1.0)
    return out


def _lidar_directions(rig: SyntheticRig, azimuth_offset_deg: float = 0.0) -> np.ndarray:
    el = np.radians(np.linspace(*rig.elevation_deg, rig.beams))
    az = np.radians(np.arange(-180, 180, rig.azimuth_step_deg) + azimuth_offset_deg)
    E, A = np.meshgrid(el, az, indexing="ij")
    return np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], -1).reshape(-1, 3)


def _cast_lidar(scene: Scene, origin: np.ndarray, rig: SyntheticRig):
    """Each beam's direction (its footprint's centre) and return (:func:`_cast`'s tuple): the
    nearest hit of the rays across the footprint (``SyntheticRig.beam_width_deg``)."""
    dirs = _lidar_directions(rig)
    best = list(_cast(scene, origin, dirs, rig.max_range_m))
    if rig.beam_width_deg <= 0 or rig.beam_rays < 2:
        return dirs, best
    half = rig.beam_width_deg / 2
    for offset in np.linspace(-half, half, rig.beam_rays):
        if abs(offset) < 1e-12:
            continue  # the centre ray, cast above
        ray = _cast(scene, origin, _lidar_directions(rig, offset), rig.max_range_m)
        nearer = ray[0] < best[0]
        for mine, theirs in zip(best, ray):
            mine[nearer] = theirs[nearer]
    return dirs, best


def synthetic_frame(
    seed: int = 0,
    rig: SyntheticRig = SyntheticRig(),
    scene: Scene | None = None,
    x: float = 0.0,
    stamp_ns: int = 0,
    lidar_scene: Scene | None = None,
) -> Frame:
    """One frame of the rig standing at ``x`` (m) on the street of ``random_scene(seed)``.

    The LiDAR frame is the vehicle frame moved up by ``lidar_height``; ``T_cam_lidar`` is the
    rig's. The image is lit by a fixed sun with a sky gradient where nothing is hit. The LiDAR
    sees ``lidar_scene`` where given (objects that moved between the two sensors' captures).
    """
    rng = np.random.default_rng(seed)
    scene = random_scene(rng) if scene is None else scene
    seen = scene if lidar_scene is None else lidar_scene
    lidar_origin = np.array([x, 0.0, rig.lidar_height])
    dirs, (t, obj, normal, p) = _cast_lidar(seen, lidar_origin, rig)
    hit = np.isfinite(t)
    refl = _reflectance(seen, obj[hit], p[hit])
    cos = np.abs((normal[hit] * dirs[hit]).sum(1))
    intensity = np.clip(refl * (0.3 + 0.7 * cos) + rng.normal(0, 0.02, hit.sum()), 0, 1)
    rng_noise = rng.normal(0, rig.range_noise_m, hit.sum())
    points = dirs[hit] * (t[hit] + rng_noise)[:, None]  # LiDAR frame = world axes at the origin
    # camera: rays through pixel centres, in the world frame
    cam = rig.camera
    T_lidar_cam = np.linalg.inv(rig.T_cam_lidar)
    v, u = np.mgrid[0 : rig.height, 0 : rig.width]
    rays_cam = cam.unproject(np.stack([u.ravel(), v.ravel()], -1).astype(float))
    rays = rays_cam @ T_lidar_cam[:3, :3].T
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    origin = lidar_origin + T_lidar_cam[:3, 3]
    t, obj, normal, p = _cast(scene, origin, rays, 200.0)
    sun = np.array([0.4, 0.3, 0.85])
    sun /= np.linalg.norm(sun)
    shade = 0.35 + 0.65 * np.clip(normal @ sun, 0, 1)
    colour = np.zeros((len(rays), 3))
    g, b = obj == -1, obj >= 0
    colour[g] = np.array([0.75, 0.75, 0.78]) * _reflectance(scene, obj[g], p[g])[:, None]
    colour[b] = scene.albedo[obj[b]] * (0.4 + _reflectance(scene, obj[b], p[b]))[:, None] / 1.4
    colour[g | b] *= shade[g | b, None]
    sky = obj == -2
    colour[sky] = np.array([0.55, 0.7, 0.95]) * (0.8 + 0.2 * rays[sky, 2:3])
    image = colour.reshape(rig.height, rig.width, 3) + rng.normal(
        0, 0.01, (rig.height, rig.width, 3)
    )
    image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    return Frame(
        image=image,
        points=points.astype(np.float32),
        intensity=intensity.astype(np.float32),
        camera=cam,
        T_cam_lidar=rig.T_cam_lidar,
        stamp_ns=stamp_ns,
        points_stamp_ns=stamp_ns,
        name=f"synthetic/{seed}/{x:.1f}",
    )


def synthetic_sequence(
    seed: int = 0,
    num: int = 5,
    speed_mps: float = 8.0,
    rate_hz: float = 10.0,
    rig: SyntheticRig = SyntheticRig(),
    traffic: int = 0,
    traffic_speed_mps: float = 10.0,
    lidar_delay_s: float = 0.0,
    start: int = 0,
) -> list[Frame]:
    """Frames ``start`` to ``num - 1`` of the rig driving forward along one seeded street; with
    ``traffic``, that many cars drive on it (:func:`random_traffic`), and the LiDAR sees them
    ``lidar_delay_s`` later than the camera does (a car at 10 m/s and 50 ms: 0.5 m further).
    Frame ``i`` is the same whatever ``start`` is, so a drive can change rig part-way
    (``synthetic_sequence(s, n, rig=drifted, start=k)`` continues ``synthetic_sequence(s, k)``)."""
    rng = np.random.default_rng(seed)
    scene = random_scene(rng)
    cars = random_traffic(scene, rng, traffic, traffic_speed_mps) if traffic else None
    frames = []
    for i in range(start, num):
        t = i / rate_hz
        camera_scene, lidar_scene = scene, None
        if cars is not None:
            camera_scene, lidar_scene = cars.at(scene, t), cars.at(scene, t + lidar_delay_s)
        x, stamp = i * speed_mps / rate_hz, 10**9 + round(i * 1e9 / rate_hz)
        frames.append(synthetic_frame(seed * 1000 + i, rig, camera_scene, x, stamp, lidar_scene))
    return frames

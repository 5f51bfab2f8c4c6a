"""Turn a Frame into VP2P's network input: 160x512 image, 40960 points with normals, perturbation.

Follows the released ``kitti_dataset.py`` (see ``../shared/reference/vp2p_architecture.md`` §2):
resize x0.5, centre crop (random in training), ``K_s = 0.5 K`` then ``cx -= dx, cy -= dy``,
``K_4 = K_s / 4`` for the 40x128 maps; points moved to the camera frame, voxel-downsampled to
0.1 m, sampled to 40960, then perturbed by ``P_rand`` (yaw about camera y, t_x / t_z); the target
is ``P = P_rand^-1`` (camera <- perturbed input).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vp2p_ros.camera import CameraModel
from vp2p_ros.data import Frame
from vp2p_ros.geometry import inverse_transform, make_transform, transform_points
from vp2p_ros.protocol.config import ProtocolConfig

__all__ = [
    "Vp2pSample",
    "undistort_image",
    "prepare_image",
    "voxel_downsample",
    "estimate_normals",
    "sample_indices",
    "random_perturbation",
    "make_sample",
]


@dataclasses.dataclass
class Vp2pSample:
    """One network input in VP2P's conventions.

    Attributes:
        image: (3, 160, 512) float32 RGB in [0, 1] (no mean/std normalisation, as VP2P).
        points: (N, 3) float32, metres, perturbed frame (``x_cam = P x``).
        intensity: (N,) float32 in [0, 1].
        normals: (N, 3) float32, perturbed frame.
        P: (4, 4) ``T_cam_input``: maps the input points into the camera frame (ground truth).
        camera: intrinsics of the 160x512 input; ``camera_feat``: of the 40x128 maps (K_4).
    """

    image: np.ndarray
    points: np.ndarray
    intensity: np.ndarray
    normals: np.ndarray
    P: np.ndarray
    camera: CameraModel
    camera_feat: CameraModel


def undistort_image(image: np.ndarray, camera: CameraModel) -> tuple[np.ndarray, CameraModel]:
    """Resample a distorted image to the pinhole camera with the same K (identity if pinhole)."""
    import cv2

    if camera.is_pinhole:
        return image, camera
    pin = dataclasses.replace(camera, D=np.zeros(0), distortion_model="plumb_bob")
    u, v = np.meshgrid(
        np.arange(camera.width, dtype=np.float64), np.arange(camera.height, dtype=np.float64)
    )
    rays = pin.unproject(np.stack([u.ravel(), v.ravel()], -1))
    src, ok = camera.project(rays, in_image=False)
    src[~ok] = -1e4
    mx = src[:, 0].reshape(u.shape).astype(np.float32)
    my = src[:, 1].reshape(u.shape).astype(np.float32)
    return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT), pin


def prepare_image(
    image: np.ndarray,
    camera: CameraModel,
    cfg: ProtocolConfig = ProtocolConfig(),
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, CameraModel, CameraModel]:
    """Resize, crop and scale an RGB image to the network input.

    Args:
        image: (H, W, 3) uint8 RGB; undistorted first if ``camera`` has distortion.
        camera: its intrinsics.
        cfg: protocol options.
        rng: random crop when given (training), centre crop otherwise (evaluation).

    Returns:
        (3, crop_h, crop_w) float32 in [0, 1], the input camera model, the feature-map model.

    Raises:
        ValueError: the resized image is smaller than the crop.
    """
    import cv2

    image, camera = undistort_image(image, camera)
    w = int(round(camera.width * cfg.image_scale))
    h = int(round(camera.height * cfg.image_scale))
    if w < cfg.crop_width or h < cfg.crop_height:
        raise ValueError(
            f"resized image {w}x{h} is smaller than the {cfg.crop_width}x{cfg.crop_height} crop"
        )
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng is None:
        dx, dy = (w - cfg.crop_width) // 2, (h - cfg.crop_height) // 2
    else:
        dx = int(rng.integers(0, w - cfg.crop_width + 1))
        dy = int(rng.integers(0, h - cfg.crop_height + 1))
    crop = small[dy : dy + cfg.crop_height, dx : dx + cfg.crop_width]
    cam = camera.scaled(cfg.image_scale, width=w, height=h).cropped(
        dx, dy, cfg.crop_width, cfg.crop_height
    )
    tensor = np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32) / 255.0
    return tensor, cam, cam.for_feature_map(cfg.feature_stride)


def voxel_downsample(
    points: np.ndarray, *features: np.ndarray, voxel: float
) -> tuple[np.ndarray, ...]:
    """Average points (N, 3) and per-point features (N, ...) per voxel of edge ``voxel`` m."""
    if voxel <= 0 or len(points) == 0:
        return (points, *features)
    keys = np.floor(points / voxel).astype(np.int64)
    _, inv, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)

    def mean(a):
        a2 = a.reshape(len(a), -1).astype(np.float64)
        out = np.zeros((len(counts), a2.shape[1]))
        np.add.at(out, inv, a2)
        return (out / counts[:, None]).reshape((len(counts),) + a.shape[1:]).astype(a.dtype)

    return (mean(points), *(mean(f) for f in features))


def estimate_normals(
    points: np.ndarray,
    radius: float = 0.6,
    max_neighbors: int = 30,
    viewpoint: np.ndarray | None = None,
) -> np.ndarray:
    """PCA surface normals (N, 3), unit length, oriented towards ``viewpoint`` (default origin).

    Points with fewer than 3 neighbours within ``radius`` get the normal pointing at the viewpoint.
    """
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    if n == 0:
        return np.zeros((0, 3), np.float32)
    k = min(max_neighbors, n)
    dist, idx = cKDTree(pts).query(pts, k=k, distance_upper_bound=radius, workers=-1)
    idx = idx.reshape(n, k)
    ok = np.isfinite(dist.reshape(n, k))
    nb = pts[np.where(ok, idx, np.arange(n)[:, None])]  # (N, k, 3), missing -> self
    cnt = ok.sum(1, keepdims=True)
    mu = (nb * ok[..., None]).sum(1) / np.maximum(cnt, 1)
    d = (nb - mu[:, None]) * ok[..., None]
    cov = np.einsum("nki,nkj->nij", d, d)  # (N, 3, 3)
    _, vecs = np.linalg.eigh(cov)
    normals = vecs[:, :, 0]
    vp = np.zeros(3) if viewpoint is None else np.asarray(viewpoint, dtype=np.float64)
    to_vp = vp - pts
    normals = np.where(
        (cnt >= 3),
        normals,
        to_vp / np.maximum(np.linalg.norm(to_vp, axis=1, keepdims=True), 1e-12),
    )
    flip = (normals * to_vp).sum(1) < 0
    normals[flip] *= -1
    return normals.astype(np.float32)


def sample_indices(n_have: int, n_want: int, rng: np.random.Generator) -> np.ndarray:
    """VP2P's sampling: random choice without replacement, else all indices tiled + random fill."""
    if n_have <= 0:
        raise ValueError("cannot sample from an empty point cloud")
    if n_have >= n_want:
        return rng.choice(n_have, n_want, replace=False)
    reps = np.tile(np.arange(n_have), n_want // n_have)
    return np.concatenate([reps, rng.choice(n_have, n_want - len(reps), replace=False)])


def random_perturbation(
    rng: np.random.Generator, cfg: ProtocolConfig = ProtocolConfig()
) -> np.ndarray:
    """VP2P's ``P_rand`` (4, 4): yaw about camera y in [-max_rot, max_rot], t_x, t_z uniform."""
    angle = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
    tx, tz = rng.uniform(-cfg.max_translation, cfg.max_translation, size=2)
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return make_transform(R, np.array([tx, 0.0, tz]))


def make_sample(
    frame: Frame,
    cfg: ProtocolConfig = ProtocolConfig(),
    *,
    rng: np.random.Generator | None = None,
    perturb: bool = True,
    train: bool = False,
) -> Vp2pSample:
    """Build the network input of one frame.

    Args:
        frame: needs ``T_cam_lidar`` (the protocol works in the camera frame, as VP2P does).
        cfg: protocol options.
        rng: randomness for sampling / perturbation / crop (seed it for reproducible runs).
        perturb: apply ``P_rand``; False gives ``P = I`` (points in the camera frame).
        train: random crop instead of the centre crop.

    Raises:
        ValueError: the frame has no extrinsic or no points.
    """
    if frame.T_cam_lidar is None:
        raise ValueError("make_sample needs frame.T_cam_lidar (VP2P works in the camera frame)")
    rng = np.random.default_rng() if rng is None else rng
    image, cam, cam_feat = prepare_image(frame.image, frame.camera, cfg, rng if train else None)
    pts = frame.points.astype(np.float64)
    inten = (
        frame.intensity if frame.intensity is not None else np.zeros(len(pts), np.float32)
    ).astype(np.float64)
    scale = cfg.intensity_scale or (255.0 if inten.size and inten.max() > 1.0 else 1.0)
    order = rng.permutation(len(pts))
    pts, inten = pts[order], inten[order] / scale
    normals = frame.normals[order] if frame.normals is not None else None
    # Downsample in the LiDAR frame, then estimate normals there (viewpoint = the sensor), which
    # is what DeepI2P's "voxel0.1-SNr0.6" preprocessing did before VP2P read the scans.
    if normals is None:
        pts, inten = voxel_downsample(pts, inten, voxel=cfg.voxel_size)
        normals = estimate_normals(pts, cfg.normal_radius, cfg.normal_neighbors)
    else:
        pts, inten, normals = voxel_downsample(pts, inten, normals, voxel=cfg.voxel_size)
    pts = transform_points(frame.T_cam_lidar, pts)
    normals = normals @ frame.T_cam_lidar[:3, :3].T
    idx = sample_indices(len(pts), cfg.num_points, rng)
    pts, inten, normals = pts[idx], inten[idx], normals[idx]
    P_rand = random_perturbation(rng, cfg) if perturb else np.eye(4)
    pts = transform_points(P_rand, pts)
    normals = normals @ P_rand[:3, :3].T
    return Vp2pSample(
        image=image,
        points=pts.astype(np.float32),
        intensity=inten.astype(np.float32),
        normals=normals.astype(np.float32),
        P=inverse_transform(P_rand),
        camera=cam,
        camera_feat=cam_feat,
    )

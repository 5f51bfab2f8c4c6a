"""Weight-free extrinsic refinement: LiDAR edges aligned with image edges, coarse to fine.

Cost of a pose (to maximise): the weighted mean, over the LiDAR edge points of every frame, of the
image edge-attraction map (:func:`edge_attraction`) sampled where the point projects. Frames share
the extrinsic, so several frames taken while the vehicle moves constrain translation (a single
frame constrains rotation well and translation poorly).

The search is a cross-entropy method on the ROS-order pose chart around the prior (rotation about
the camera's axes, translation in the camera frame), batched over candidate poses in torch: wide at
the coarsest blur (to widen the basin beyond a local gradient method's few degrees), narrower at
finer blurs. The covariance is the M-estimator sandwich of the cost at the optimum (curvature and
per-point gradient spread), plus a resolution floor; it captures the noise of the data, not the
bias of a wrong basin (the ``contrast`` quality number is lower there).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from vp2p_ros.camera.projection import CameraTensors, project_components
from vp2p_ros.data import Frame
from vp2p_ros.geometry import retract_pose, so3_exp
from vp2p_ros.refine.features import edge_attraction, lidar_edges

__all__ = [
    "FrameCost",
    "RefineConfig",
    "RefineResult",
    "alignment_score",
    "prepare",
    "refine",
    "score_poses",
]


REFERENCE_FOCAL_PX = 720.0


@dataclasses.dataclass(frozen=True)
class RefineConfig:
    """Search settings; ranges are half-widths of the prior's uncertainty (1 sigma of the CEM).

    Attributes:
        sigmas_px: edge blur per stage, coarse to fine, in pixels of a camera with a 720 px focal
            length (KITTI's); scaled by ``fx / 720`` for other cameras (not below half), so every
            camera gets the same angular blur.
        rotation_std_deg / translation_std_m: initial search spread per axis.
        samples: candidate poses per CEM iteration; elite: how many of them update the mean.
        iterations: CEM iterations per stage.
        resolution_px: finest alignment the edges support, in multiples of the finest blur; it
            floors the covariance (biases the sandwich cannot see).
        seed: the search is deterministic for a seed.
    """

    sigmas_px: tuple[float, ...] = (8.0, 4.0, 2.0, 1.0)
    rotation_std_deg: float = 3.0
    translation_std_m: float = 0.15
    samples: int = 160
    elite: int = 16
    iterations: int = 12
    resolution_px: float = 2.0
    seed: int = 0


@dataclasses.dataclass
class FrameCost:
    """One frame ready for scoring: edge points (LiDAR frame), weights, maps per scale, camera."""

    points: torch.Tensor  # (M, 3) float32
    weights: torch.Tensor  # (M,)
    maps: list[torch.Tensor]  # per scale (1, 1, H, W)
    camera: CameraTensors
    size: tuple[int, int]  # (W, H)
    sigmas: tuple[float, ...]  # blur per stage in this image's pixels


@dataclasses.dataclass
class RefineResult:
    """Refined ``T_cam_lidar`` with its covariance (ROS order: x y z, rot-x rot-y rot-z)."""

    T_cam_lidar: np.ndarray
    covariance: np.ndarray
    score: float  # cost at the optimum (finest scale); higher is better aligned
    contrast: float  # optimum vs poses 1 deg / 5 cm away, in cost standard deviations
    num_edges: int
    num_in_view: int  # edge points that project into their image at the optimum
    history: list[float]  # best cost per stage


def prepare(frames: list[Frame], sigmas_px: tuple[float, ...]) -> list[FrameCost]:
    """Edge points and attraction maps of each frame (what does not depend on the pose)."""
    out = []
    for f in frames:
        e = lidar_edges(f.points, f.intensity)
        sigmas = tuple(s * max(f.camera.K[0, 0] / REFERENCE_FOCAL_PX, 0.5) for s in sigmas_px)
        maps = [torch.from_numpy(m)[None, None] for m in edge_attraction(f.image, sigmas)]
        cam = CameraTensors.from_model(f.camera, torch.float32)
        out.append(
            FrameCost(
                torch.from_numpy(e.points),
                torch.from_numpy(e.weights),
                maps,
                cam,
                (f.camera.width, f.camera.height),
                sigmas,
            )
        )
    return out


def point_scores(
    data: list[FrameCost],
    T_prior: torch.Tensor,
    deltas: torch.Tensor,
    stage: int,
) -> torch.Tensor:
    """Each edge point's weighted contribution to the cost, (B, M_all); sums to
    :func:`score_poses`."""
    R = so3_exp(deltas[:, 3:]).to(T_prior.dtype) @ T_prior[:3, :3]  # (B, 3, 3)
    t = T_prior[:3, 3] + deltas[:, :3]  # (B, 3)
    parts, weight_sum = [], 0.0
    for d in data:
        pts, w = d.points, d.weights
        pc = torch.einsum("bij,nj->bni", R, pts) + t[:, None, :]  # (B, M, 3)
        x, y, z = pc.unbind(-1)
        u, v = project_components(x, y, z, d.camera)
        W, H = d.size
        grid = torch.stack([2 * u / (W - 1) - 1, 2 * v / (H - 1) - 1], -1)[None]
        grid = torch.where((z > 0.5)[None, ..., None], grid, torch.full_like(grid, 3.0))
        a = F.grid_sample(d.maps[stage], grid, align_corners=True, padding_mode="zeros")[0, 0]
        parts.append(a * w)
        weight_sum += float(w.sum())
    return torch.cat(parts, -1) / max(weight_sum, 1e-9)


def score_poses(data: list[FrameCost], T_prior, deltas: torch.Tensor, stage: int) -> torch.Tensor:
    """Cost of ``retract_pose(T_prior, delta)`` for a batch of deltas (B, 6) -> (B,)."""
    return point_scores(data, T_prior, deltas, stage).sum(-1)


def sandwich_covariance(
    data: list[FrameCost], T_prior: torch.Tensor, delta: torch.Tensor, stage: int, max_std
) -> np.ndarray:
    """Covariance of the maximiser ``delta``: ``A^-1 J A^-1`` with ``A`` the negated Hessian of the
    cost and ``J`` the sum of outer products of the per-point gradients (the M-estimator
    sandwich), by central differences at the blur of ``stage``. Directions the cost does not
    constrain (``A`` not positive there) get the variance ``max_std**2``."""
    angle = float(np.mean([d.sigmas[stage] / float(d.camera.K[0, 0]) for d in data]))
    h = torch.tensor([10.0 * angle] * 3 + [angle] * 3)  # a blur width at 10 m, and in angle
    eye = torch.eye(6)
    offsets = [torch.zeros(6)] + [s * h[i] * eye[i] for i in range(6) for s in (1.0, -1.0)]
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    offsets += [
        a * h[i] * eye[i] + b * h[j] * eye[j] for i, j in pairs for a in (1, -1) for b in (1, -1)
    ]
    P = point_scores(data, T_prior, delta + torch.stack(offsets), stage).double()  # (73, M)
    C = P.sum(-1)
    hd = h.double()
    g = torch.stack([(P[1 + 2 * i] - P[2 + 2 * i]) / (2 * hd[i]) for i in range(6)], -1)
    Hm = torch.zeros(6, 6, dtype=torch.float64)
    for i in range(6):
        Hm[i, i] = (C[1 + 2 * i] - 2 * C[0] + C[2 + 2 * i]) / hd[i] ** 2
    for k, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = C[13 + 4 * k : 17 + 4 * k]
        Hm[i, j] = Hm[j, i] = (pp - pm - mp + mm) / (4 * hd[i] * hd[j])
    A = -0.5 * (Hm + Hm.T)
    J = g.T @ g
    max_var = torch.as_tensor(np.square(max_std), dtype=torch.float64)
    # whiten by the prior box so eigenvalues of translation and rotation are comparable
    s = max_var.sqrt()
    w, V = torch.linalg.eigh(s[:, None] * A * s[None, :])
    inv = torch.where(w > 1e-12, 1.0 / w.clamp(min=1e-12), torch.zeros_like(w))
    Ainv = (V * inv) @ V.T
    cov = Ainv @ (s[:, None] * J * s[None, :]) @ Ainv
    # unconstrained directions: the prior box itself
    flat = V[:, w <= 1e-12]
    cov = cov + flat @ flat.T
    w2, V2 = torch.linalg.eigh(0.5 * (cov + cov.T))
    cov = (V2 * w2.clamp(max=1.0, min=0.0)) @ V2.T  # never wider than the box
    return (s[:, None] * cov * s[None, :]).numpy()


def alignment_score(data: list[FrameCost], T_cam_lidar: np.ndarray, stage: int = -1) -> float:
    """Edge alignment of one pose on prepared frames (the refinement's cost; higher is better)."""
    T = torch.as_tensor(np.asarray(T_cam_lidar), dtype=torch.float32)
    return float(score_poses(data, T, torch.zeros(1, 6), stage % len(data[0].maps))[0])


def _cem(data, T_prior, mean, std, stage, cfg, gen, bound):
    best, best_cost = mean.clone(), -np.inf
    for _ in range(cfg.iterations):
        cand = mean + std * torch.randn(cfg.samples, 6, generator=gen)
        cand = torch.maximum(torch.minimum(cand, bound), -bound)  # stay in the prior's box
        cand[0] = mean
        cost = score_poses(data, T_prior, cand, stage)
        top = torch.topk(cost, cfg.elite).indices
        if float(cost[top[0]]) > best_cost:
            best, best_cost = cand[top[0]].clone(), float(cost[top[0]])
        elite = cand[top]
        mean = elite.mean(0)
        std = 0.7 * std + 0.3 * elite.std(0)
    return best, best_cost, std


def _in_view(d: FrameCost, T: np.ndarray) -> torch.Tensor:
    """Depths of the edge points of ``d`` that project into its image under ``T``."""
    pc = d.points.double() @ torch.from_numpy(T[:3, :3]).T + torch.from_numpy(T[:3, 3])
    u, v = project_components(
        *pc.unbind(-1),
        d.camera.__class__(
            d.camera.K.double(), d.camera.D.double(), d.camera.model, d.camera.max_radius
        ),
    )
    W, H = d.size
    ok = (pc[:, 2] > 0.5) & (u >= 0) & (u <= W - 1) & (v >= 0) & (v <= H - 1)
    return pc[ok, 2]


def _resolution_floor(data: list[FrameCost], T: np.ndarray, cfg: RefineConfig) -> np.ndarray:
    """Per-axis std the alignment cannot resolve: ``resolution_px`` of the finest blur, as an
    angle (over the focal length) and as a shift at the median depth of the edges in view."""
    z = torch.cat([_in_view(d, T) for d in data])
    focal = [float(d.camera.K[0, 0]) for d in data]
    angle = cfg.resolution_px * float(np.mean([d.sigmas[-1] / f for d, f in zip(data, focal)]))
    depth = float(z.median()) if len(z) else 10.0
    return np.array([angle * depth] * 3 + [angle] * 3)


def refine(
    frames: list[Frame] | list[FrameCost],
    T_prior: np.ndarray,
    cfg: RefineConfig = RefineConfig(),
) -> RefineResult:
    """Refine ``T_cam_lidar`` from ``T_prior`` on one or more frames of the same rig.

    Args:
        frames: frames (or their :func:`prepare` output) sharing one extrinsic.
        T_prior: (4, 4) starting ``T_cam_lidar``.
        cfg: search settings.

    Returns:
        The refined pose, its covariance and quality numbers.
    """
    data = frames if isinstance(frames[0], FrameCost) else prepare(frames, cfg.sigmas_px)
    gen = torch.Generator().manual_seed(cfg.seed)
    T0 = torch.as_tensor(np.asarray(T_prior), dtype=torch.float32)
    rot, tr = np.radians(cfg.rotation_std_deg), cfg.translation_std_m
    std = torch.tensor([tr, tr, tr, rot, rot, rot], dtype=torch.float32)
    bound = 2 * std  # the search never leaves +-2 sigma of the prior per axis
    mean = torch.zeros(6)
    floor = torch.tensor([0.01] * 3 + [np.radians(0.1)] * 3).float()
    history = []
    # rotation alone first, at the coarsest scale: it moves every point, translation mostly the
    # near ones, so a wrong translation does not yet drag the rotation into a textured basin
    rot_only = torch.tensor([0.0] * 3 + [1.0] * 3)
    mean, _, _ = _cem(data, T0, mean, std * rot_only, 0, cfg, gen, bound)
    for stage in range(len(cfg.sigmas_px)):
        mean, cost, spread = _cem(data, T0, mean, std, stage, cfg, gen, bound)
        history.append(cost)
        std = torch.clamp(2 * spread, min=floor, max=std * 0.6)
    last = len(cfg.sigmas_px) - 1
    T = retract_pose(T0.double(), mean.double()).numpy()
    box = 2 * np.r_[[tr] * 3, [rot] * 3]
    cov = sandwich_covariance(data, T0, mean, max(last - 1, 0), box)
    cov = cov + np.diag(_resolution_floor(data, T, cfg) ** 2)
    probe = torch.tensor([0.05] * 3 + [np.radians(1.0)] * 3).float()
    around = mean + probe * torch.tensor(
        [[s * (i == j) for j in range(6)] for i in range(6) for s in (-1.0, 1.0)]
    )
    near = score_poses(data, T0, around, last)
    contrast = float((cost - near.mean()) / (near.std() + 1e-9))
    return RefineResult(
        T,
        cov if cov is not None else np.full((6, 6), np.nan),
        float(cost),
        contrast,
        sum(len(d.points) for d in data),
        sum(len(_in_view(d, T)) for d in data),
        history,
    )

"""How uncertain a refined extrinsic is: the cost's sandwich, a resolution floor, and a spatial
block jackknife.

The sandwich (curvature and per-point gradient spread) sees the noise of the data but not the
scene-dependent bias that dominates a single frame: which structures happen to be in view pull the
optimum a few centimetres along the optical axis. The delete-one-strip jackknife re-fits the pose
with each vertical strip of the image left out; the spread of those fits measures how much the
answer depends on individual scene parts, the part of the error the sandwich cannot see.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from vp2p_ros.camera.projection import project_components
from vp2p_ros.refine.cost import FrameCost, cem, point_scores

__all__ = [
    "JackknifeConfig",
    "in_view_depths",
    "jackknife_covariance",
    "resolution_floor",
    "sandwich_covariance",
]


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


def in_view_depths(d: FrameCost, T: np.ndarray) -> torch.Tensor:
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


def resolution_floor(data: list[FrameCost], z: torch.Tensor, resolution_px: float) -> np.ndarray:
    """Per-axis std the alignment cannot resolve: ``resolution_px`` of the finest blur, as an
    angle (over the focal length) and as a shift at the median of ``z``, the depths of the edges
    in view (:func:`in_view_depths`)."""
    focal = [float(d.camera.K[0, 0]) for d in data]
    angle = resolution_px * float(np.mean([d.sigmas[-1] / f for d, f in zip(data, focal)]))
    depth = float(z.median()) if len(z) else 10.0
    return np.array([angle * depth] * 3 + [angle] * 3)


def _strip_of_points(d: FrameCost, T: torch.Tensor, strips: int) -> torch.Tensor:
    """Index of the vertical image strip each edge point of ``d`` projects into under ``T``."""
    pc = d.points @ T[:3, :3].T + T[:3, 3]
    u, _ = project_components(*pc.unbind(-1), d.camera)
    u = torch.nan_to_num(u, nan=0.0).clamp(0, d.size[0] - 1)
    return (u * strips / d.size[0]).long().clamp(0, strips - 1)


@dataclasses.dataclass(frozen=True)
class JackknifeConfig:
    """Delete-one-strip jackknife: ``strips`` vertical image strips (0 = off); each re-fit is a
    CEM of ``iterations`` x ``samples`` at the two finest blurs, spread ``std`` (x y z in m,
    rotations in rad) around the optimum, clipped to ``bound``."""

    strips: int = 10
    iterations: int = 6
    samples: int = 64
    std: tuple[float, ...] = (0.03, 0.03, 0.03, 0.005, 0.005, 0.005)
    bound: tuple[float, ...] = (0.3, 0.3, 0.3, 0.05, 0.05, 0.05)
    seed: int = 1


def jackknife_covariance(
    data: list[FrameCost], T_opt: np.ndarray, cfg: JackknifeConfig, stages: tuple[int, ...]
) -> np.ndarray:
    """``(g-1)/g * sum_k (theta_k - mean)(theta_k - mean)^T`` over the ``g`` re-fits
    ``theta_k`` without strip ``k`` (in every frame), on the chart around ``T_opt``."""
    T = torch.as_tensor(np.asarray(T_opt), dtype=torch.float32)
    std, bound = torch.tensor(cfg.std).float(), torch.tensor(cfg.bound).float()
    search = _Search(cfg.iterations, cfg.samples, max(cfg.samples // 10, 4))
    strip = [_strip_of_points(d, T, cfg.strips) for d in data]
    fits = []
    for k in range(cfg.strips):
        kept = [dataclasses.replace(d, weights=d.weights * (s != k)) for d, s in zip(data, strip)]
        if float(sum(d.weights.sum() for d in kept)) <= 0:
            continue
        m = torch.zeros(6)
        gen = torch.Generator().manual_seed(cfg.seed)  # common random numbers: the re-fits
        for stage in stages:  # differ by the data left out, not by the candidates drawn
            m, _, _ = cem(kept, T, m, std, stage, search, gen, bound)
        fits.append(m.double().numpy())
    if len(fits) < 2:
        return np.zeros((6, 6))
    th = np.array(fits)
    g = len(fits)
    dev = th - th.mean(0)
    return (g - 1) / g * dev.T @ dev


@dataclasses.dataclass(frozen=True)
class _Search:
    iterations: int
    samples: int
    elite: int

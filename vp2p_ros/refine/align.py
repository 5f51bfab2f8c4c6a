"""Weight-free extrinsic refinement: LiDAR edges aligned with image edges, coarse to fine.

Cost of a pose (:mod:`.cost`, to maximise): the weighted mean, over the LiDAR edge points of every
frame, of the image edge-attraction map (:func:`edge_attraction`) sampled where the point
projects, the map of the point's own edge orientation (vertical or horizontal). Frames share the
extrinsic, so several frames taken while the vehicle moves constrain translation (a single frame
constrains rotation well and translation poorly). At the coarsest blur the mutual information of
LiDAR reflectivity and image brightness (:mod:`.mutual_info`) is added: a second cue over every
point that keeps the search out of basins where more edges line up but the surfaces disagree.

The search is a cross-entropy method on the ROS-order pose chart around the prior, batched over
candidate poses in torch: wide at the coarsest blur (to widen the basin beyond a local gradient
method's few degrees; scored on a thinned point set), narrower at finer blurs, then once more over
the finer blurs from the result (the polish: the first pass stops short along the optical axis);
only edge points that can come into view within the search box take part. The covariance
(:mod:`.covariance`) is the M-estimator sandwich of the cost plus a resolution floor plus a
delete-one-strip spatial jackknife (the scene-dependent bias the sandwich cannot see); it does
not see a wrong basin (the ``contrast`` quality number is lower there).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from vp2p_ros.camera.projection import CameraTensors
from vp2p_ros.data import Frame
from vp2p_ros.geometry import retract_pose
from vp2p_ros.refine.cost import FrameCost, cem, score_poses
from vp2p_ros.refine.covariance import (
    JackknifeConfig,
    in_view_depths,
    jackknife_covariance,
    resolution_floor,
    sandwich_covariance,
)
from vp2p_ros.refine.features import ORIENTATION_LEAK, edge_attraction, lidar_edges
from vp2p_ros.refine.mutual_info import intensity_cue

__all__ = [
    "FrameCost",
    "JackknifeConfig",
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
            floors the covariance.
        seed: the search is deterministic for a seed.
        cull_margin_deg: only the edge (and reflectivity) points whose direction under the prior
            lies within the field of view widened by this margin take part; every candidate pose
            scores the same points. 0: those in view under the prior. A margin that lets points
            come into view as the pose moves (2 x the rotation spread + 8 deg until commit
            7b5d4ca) biases the search towards poses that see more edges: on drives along the
            optical axis, forward (``benchmarks/window_box.py --cull-margin 14``).
        translation_starts: coarsest-stage searches from the prior and from one translation
            spread along +-x, +-y, +-z (up to 7); the best-scoring one goes on. For wide priors:
            a large start offset can otherwise drag the rotation into a wrong basin (five KITTI
            frames from <= 10 deg / 50 cm: 80 -> 100 % within 2 deg / 5 cm, 1.8x the time;
            ``benchmarks/refine.py --single 0 --skip-drift --translation-starts 1``, which uses
            7 by default). On single frames with a narrow prior it does not help.
        coarse_points: most edge points (all frames together) the coarsest stage scores; more
            are thinned by a regular stride per frame (0: all). The coarsest blur is wide, so a
            thinned set finds the same basin at a fraction of the cost; the finer stages use
            every point.
        min_spread: (m, deg) smallest per-axis spread a stage after the coarsest starts from.
        polish_spread: (m, deg) after the last stage, the stages after the coarsest run once
            more from the result with this spread (0: no polish). Along directions the finest
            blurs barely constrain (translation along the optical axis) the first pass stops
            wherever its shrinking spread left it; the second pass starts wide enough to settle
            at the finer blurs' optimum, nearly the same for every start (five KITTI frames from
            <= 10 deg / 50 cm: median 2.51 -> 1.33 cm, ``benchmarks/refine.py --single 0
            --skip-drift [--no-polish]``).
        jackknife: the spatial jackknife added to the covariance (``strips=0``: off).
        mi_weight: weight of the mutual information of LiDAR reflectivity and image brightness
            (:mod:`.mutual_info`, nats) added to the edge cost at the coarsest stage (0: edges
            only). It keeps the search out of basins where more edges line up but the
            reflectivity disagrees with the image (the pjlab crossing: from the reference
            extrinsic edges alone settle 6.0 deg / 52 cm away, with it 0.10 deg / 7.3 cm;
            ``benchmarks/refine.py --joint 0 --skip-drift [--mi-weight 0]``); frames without
            intensity take no part.
        mi_points: most points (all frames together) the mutual information is computed on
            (``benchmarks/refine.py --skip-drift --mi-points 4000``: single frame 58 instead of
            56 %, one trial across the 5 cm line; five frames the same, 1.2x the time).
    """

    sigmas_px: tuple[float, ...] = (8.0, 4.0, 2.0, 1.0)
    rotation_std_deg: float = 3.0
    translation_std_m: float = 0.15
    samples: int = 160
    elite: int = 16
    iterations: int = 12
    resolution_px: float = 2.0
    seed: int = 0
    cull_margin_deg: float = 0.0
    translation_starts: int = 1
    coarse_points: int = 4000
    min_spread: tuple[float, float] = (0.01, 0.1)
    polish_spread: tuple[float, float] = (0.05, 1.0)
    jackknife: JackknifeConfig = JackknifeConfig()
    mi_weight: float = 3.0
    mi_points: int = 2000


@dataclasses.dataclass
class RefineResult:
    """Refined ``T_cam_lidar`` with its covariance (ROS order: x y z, rot-x rot-y rot-z)."""

    T_cam_lidar: np.ndarray
    covariance: np.ndarray
    score: float  # cost at the optimum (finest scale); higher is better aligned
    contrast: float  # optimum vs poses 1 deg / 5 cm away, in cost standard deviations
    num_edges: int
    num_in_view: int  # edge points that project into their image at the optimum
    history: list[float]  # best cost per stage (a polish repeats the stages after the first)


def prepare(
    frames: list[Frame],
    sigmas_px: tuple[float, ...],
    oriented: bool = True,
    orientation_leak: float = ORIENTATION_LEAK,
    **edge_options,
) -> list[FrameCost]:
    """Edge points and attraction maps of each frame (what does not depend on the pose);
    ``oriented``: vertical and horizontal LiDAR edges are matched with image edges of their own
    orientation (:func:`edge_attraction`, which also takes ``orientation_leak``), else with any;
    ``edge_options`` go to :func:`lidar_edges`."""
    out = []
    for f in frames:
        e = lidar_edges(f.points, f.intensity, **edge_options)
        sigmas = tuple(s * max(f.camera.K[0, 0] / REFERENCE_FOCAL_PX, 0.5) for s in sigmas_px)
        maps = [
            _side_by_side(m)[None, None]
            for m in edge_attraction(f.image, sigmas, oriented, orientation_leak)
        ]
        cam = CameraTensors.from_model(f.camera, torch.float32)
        cue = None
        if f.intensity is not None:
            cue = intensity_cue(f.image, f.points, f.intensity, cam, sigmas[0])
        out.append(
            FrameCost(
                torch.from_numpy(e.points),
                torch.from_numpy(e.weights),
                maps,
                cam,
                (f.camera.width, f.camera.height),
                sigmas,
                torch.from_numpy(e.horizontal),
                cue,
            )
        )
    return out


def _side_by_side(m: np.ndarray) -> torch.Tensor:
    """(H, W) -> itself; oriented (2, H, W) -> (H, 2 W + 2), the layout of ``FrameCost.maps``."""
    if m.ndim == 2:
        return torch.from_numpy(m)
    gap = np.zeros((m.shape[1], 2), m.dtype)
    return torch.from_numpy(np.concatenate([m[0], gap, m[1]], axis=1))


def alignment_score(data: list[FrameCost], T_cam_lidar: np.ndarray, stage: int = -1) -> float:
    """Edge alignment of one pose on prepared frames (the refinement's cost; higher is better)."""
    T = torch.as_tensor(np.asarray(T_cam_lidar), dtype=torch.float32)
    return float(score_poses(data, T, torch.zeros(1, 6), stage % len(data[0].maps))[0])


def _field_of_view_half_angles(d: FrameCost) -> tuple[float, float]:
    K = d.camera.K.double().numpy()
    W, H = d.size
    return (
        float(np.arctan(max(K[0, 2], W - K[0, 2]) / K[0, 0])),
        float(np.arctan(max(K[1, 2], H - K[1, 2]) / K[1, 1])),
    )


def cull(data: list[FrameCost], T_prior: np.ndarray, margin_rad: float) -> list[FrameCost]:
    """The frames with only the edge points (and reflectivity points) whose direction in the
    camera frame under ``T_prior`` lies within the field of view widened by ``margin_rad`` on
    each side."""
    T = torch.as_tensor(np.asarray(T_prior), dtype=torch.float32)
    out = []
    for d in data:
        hx, hy = _field_of_view_half_angles(d)
        limits = (min(hx + margin_rad, 1.55), min(hy + margin_rad, 1.55))
        d = d.subset(_in_view(d.points, T, limits))
        if d.cue is not None:
            d = dataclasses.replace(d, cue=d.cue.subset(_in_view(d.cue.points, T, limits)))
        out.append(d)
    return out


def _in_view(points: torch.Tensor, T: torch.Tensor, limits: tuple[float, float]) -> torch.Tensor:
    """(N,) whether each point lies in front of the camera within ``limits`` (rad, half-angles
    across x and y)."""
    pc = points @ T[:3, :3].T + T[:3, 3]
    z = pc[:, 2].clamp(min=1e-6)
    keep = (pc[:, 2] > 0) & (torch.atan(pc[:, 0].abs() / z) < limits[0])
    return keep & (torch.atan(pc[:, 1].abs() / z) < limits[1])


def thin(data: list[FrameCost], max_points: int) -> list[FrameCost]:
    """The frames with every k-th edge point, k the smallest stride that leaves at most
    ``max_points`` in all (``max_points <= 0``: unchanged)."""
    total = sum(len(d.points) for d in data)
    if max_points <= 0 or total <= max_points:
        return data
    k = -(-total // max_points)
    return [d.subset(slice(None, None, k)) for d in data]


def _cap_cues(data: list[FrameCost], max_points: int) -> list[FrameCost]:
    """The frames with at most ``max_points`` reflectivity points in all, an even share each
    (a cue's points come in random order, so its first ones are an even sample)."""
    keep = slice(max(max_points // len(data), 1))
    return [d if d.cue is None else dataclasses.replace(d, cue=d.cue.subset(keep)) for d in data]


def _coarsest_stage(data, T0, std, cfg, gen, bound):
    """Rotation alone, then everything, at the coarsest blur, from the prior and (with
    ``cfg.translation_starts``) from one translation sigma along +x, -x, +y, -y, +z, -z; the
    best-scoring search (the earliest on a tie) -> (delta, cost, spread).

    Rotation first: it moves every point, translation mostly the near ones, so a wrong
    translation does not yet drag the rotation into a textured basin. Scored on at most
    ``cfg.coarse_points`` edge points (:func:`thin`) and ``cfg.mi_points`` reflectivity
    points."""
    data = _cap_cues(thin(data, cfg.coarse_points), cfg.mi_points)
    rot_only = torch.tensor([0.0] * 3 + [1.0] * 3)
    translation_std = float(std[0])
    chains = []
    for k in range(max(1, min(cfg.translation_starts, 7))):
        start = torch.zeros(6)
        if k > 0:
            start[(k - 1) // 2] = translation_std * (1.0 if k % 2 else -1.0)
        m, _, _ = cem(data, T0, start, std * rot_only, 0, cfg, gen, bound)
        m, cost, spread = cem(data, T0, m, std, 0, cfg, gen, bound)
        chains.append((cost, -k, m, spread))
    cost, _, mean, spread = max(chains, key=lambda c: c[:2])
    return mean, cost, spread


def _per_axis(metres: float, degrees: float) -> torch.Tensor:
    """A (6,) spread on the ROS-order chart: ``metres`` on x y z, ``degrees`` on the rotations."""
    return torch.tensor([metres] * 3 + [np.radians(degrees)] * 3).float()


def _finer_stages(data, T0, mean, std, cfg, gen, bound, floor, history, cost):
    """Every stage after the coarsest, each from the previous one's mean with twice its final
    spread (at least ``floor``, at most 0.6 of its own start spread) -> (delta, cost)."""
    for stage in range(1, len(cfg.sigmas_px)):
        mean, cost, spread = cem(data, T0, mean, std, stage, cfg, gen, bound)
        history.append(cost)
        std = torch.clamp(2 * spread, min=floor, max=std * 0.6)
    return mean, cost


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
    margin = np.radians(cfg.cull_margin_deg)
    data = cull(data, T_prior, margin)
    gen = torch.Generator().manual_seed(cfg.seed)
    T0 = torch.as_tensor(np.asarray(T_prior), dtype=torch.float32)
    std = _per_axis(cfg.translation_std_m, cfg.rotation_std_deg)
    bound = 2 * std  # the search never leaves +-2 sigma of the prior per axis
    floor = _per_axis(*cfg.min_spread)
    mean, cost, spread = _coarsest_stage(data, T0, std, cfg, gen, bound)
    history = [cost]
    std = torch.clamp(2 * spread, min=floor, max=std * 0.6)
    mean, cost = _finer_stages(data, T0, mean, std, cfg, gen, bound, floor, history, cost)
    if cfg.polish_spread[0] > 0:
        std = _per_axis(*cfg.polish_spread)
        mean, cost = _finer_stages(data, T0, mean, std, cfg, gen, bound, floor, history, cost)
    last = len(cfg.sigmas_px) - 1
    T = retract_pose(T0.double(), mean.double()).numpy()
    cov = sandwich_covariance(data, T0, mean, max(last - 1, 0), bound.double().numpy())
    depths = [in_view_depths(d, T) for d in data]
    cov = cov + np.diag(resolution_floor(data, torch.cat(depths), cfg.resolution_px) ** 2)
    if cfg.jackknife.strips > 1:
        cov = cov + jackknife_covariance(data, T, cfg.jackknife, (max(last - 1, 0), last))
    probe = _per_axis(0.05, 1.0)
    around = mean + probe * torch.tensor(
        [[s * (i == j) for j in range(6)] for i in range(6) for s in (-1.0, 1.0)]
    )
    near = score_poses(data, T0, around, last)
    contrast = float((cost - near.mean()) / (near.std() + 1e-9))
    return RefineResult(
        T,
        cov,
        float(cost),
        contrast,
        sum(len(d.points) for d in data),
        sum(len(z) for z in depths),
        history,
    )

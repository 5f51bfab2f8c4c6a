"""What the refinement benchmarks share: where the data is, seeded start offsets, pose errors,
the cost flags."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from vp2p_ros.geometry import pose_difference
from vp2p_ros.refine import RefineConfig
from vp2p_ros.refine.features import ORIENTATION_LEAK

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VP2P_SHARED_DATA", ROOT.parent / "shared" / "data" / "real"))
CHI2_6_95 = 12.592  # the 95 % quantile of chi-square with 6 degrees of freedom


def random_offset(rng, max_deg, max_m):
    """ROS-order offset: rotation angle and translation length uniform, directions isotropic."""
    axis, direction = rng.normal(size=3), rng.normal(size=3)
    return np.r_[
        rng.uniform(0, max_m) * direction / np.linalg.norm(direction),
        np.radians(rng.uniform(0, max_deg)) * axis / np.linalg.norm(axis),
    ]


def errors(T, T_gt):
    """Rotation error (deg), translation error (m) and the ROS-order difference of ``T`` from
    ``T_gt``."""
    d = pose_difference(T, T_gt)
    return np.degrees(np.linalg.norm(d[3:])), np.linalg.norm(d[:3]), d


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two samples (no ties among float errors)."""
    ra, rb = (np.argsort(np.argsort(x)) for x in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def add_cost_flags(ap: argparse.ArgumentParser, mi_weight: float) -> None:
    """--plain-edges, --orientation-leak and --mi-weight (default ``mi_weight``): which cost the
    searches use (:func:`edge_map_options` turns the first two into ``prepare``'s options)."""
    ap.add_argument(
        "--plain-edges",
        action="store_true",
        help="match LiDAR edges with image edges of any orientation (prepare(oriented=False))",
    )
    ap.add_argument(
        "--orientation-leak",
        type=float,
        default=ORIENTATION_LEAK,
        help="fraction of each image edge's strength both orientation channels get "
        "(prepare(orientation_leak=...); 0: split by direction, 1: the same as --plain-edges; "
        f"default {ORIENTATION_LEAK:g}, the refinement's)",
    )
    ap.add_argument(
        "--mi-weight",
        type=float,
        default=mi_weight,
        help="weight of reflectivity-brightness mutual information at the coarsest stage "
        f"(RefineConfig.mi_weight, the refinement's default {RefineConfig().mi_weight:g}; "
        f"0: edges alone; default here {mi_weight:g})",
    )


def edge_map_options(args: argparse.Namespace) -> dict:
    """``prepare``'s attraction-map options from the flags of :func:`add_cost_flags`."""
    return {"oriented": not args.plain_edges, "orientation_leak": args.orientation_leak}


def pipeline_options(args: argparse.Namespace) -> dict:
    """``node_pipeline``'s :class:`RefineEstimator` settings from the flags of
    :func:`add_cost_flags` and :func:`add_cull_flag` (the rest at the node's defaults)."""
    config = RefineConfig(cull_margin_deg=args.cull_margin, mi_weight=args.mi_weight)
    return {"config": config, "edge_options": edge_map_options(args)}


def add_cull_flag(ap: argparse.ArgumentParser) -> None:
    """--cull-margin: which edge points the searches score (``RefineConfig.cull_margin_deg``)."""
    ap.add_argument(
        "--cull-margin",
        type=float,
        default=RefineConfig().cull_margin_deg,
        help="RefineConfig.cull_margin_deg: only the points within the view under the prior "
        "widened by this (deg) are scored; 14 at the node's 3 deg rotation spread, 18 at the "
        "five-frame 5 deg: the margin before commit 7b5d4ca (2 x spread + 8)",
    )


def add_beam_width_flag(ap: argparse.ArgumentParser) -> None:
    """--beam-width: the synthetic LiDAR's beam footprint (``SyntheticRig.beam_width_deg``)."""
    ap.add_argument(
        "--beam-width",
        type=float,
        default=0.0,
        help="the synthetic LiDAR's beam footprint along the ring, deg (SyntheticRig."
        "beam_width_deg; 0: ideal thin rays; the rig's azimuth step is 0.2)",
    )

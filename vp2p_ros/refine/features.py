"""What edge alignment matches: image edge-attraction maps and LiDAR depth/intensity edges.

Image side: gradient magnitude minus its local mean (a difference of Gaussians on the edge
strength), so isolated structural edges attract while uniformly textured regions (foliage,
facades) average out instead of pulling every projected point towards them. Split by gradient
direction (``oriented``), vertical LiDAR edges are drawn only to vertical image edges and
horizontal ones to horizontal edges: a horizontal image edge crossing a vertical silhouette no
longer pulls it (on KITTI frame 71 this removed most of a 4.9 cm bias along the optical axis).
Which channel a LiDAR edge reads assumes the rings run roughly along the image rows (a camera
upright on the LiDAR, as on vehicle rigs).

LiDAR side: points on range discontinuities, found in a spherical range image of the scan in the
sensor frame (any beam layout, no ring field needed), in both directions (vertical edges from
horizontal neighbours, horizontal edges such as roof lines from vertical neighbours), each with
the orientation of its edge line. A jump counts only where it is much larger than the range
change on either side, so ground seen at grazing angle (a smooth slope in range) is not an edge.
The nearer side is kept: it is what the camera sees, moved half-way towards the farther beam
across rings (where the silhouette lies on average).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ORIENTATION_LEAK", "LidarEdges", "edge_attraction", "lidar_edges"]

# the refinement's default share of an image edge's strength in both orientation channels
# (prepare(orientation_leak=...)), chosen with benchmarks.refine and benchmarks.drift_drive
# (README, "Weight-free refinement, fusion and drift")
ORIENTATION_LEAK = 0.5


def edge_attraction(
    image: np.ndarray,
    sigmas: tuple[float, ...],
    oriented: bool = False,
    orientation_leak: float = 0.0,
) -> list[np.ndarray]:
    """Per scale, a float32 map that is high on isolated image edges and ~0 on uniform texture.

    Args:
        image: (H, W, 3) uint8 RGB or (H, W) grey.
        sigmas: blur scales in pixels, coarse to fine.
        oriented: split the edge strength by gradient direction into two channels, weighted by
            ``|cos|`` (vertical edges, the gradient along the rows) and ``|sin|`` of the
            gradient angle (horizontal edges), so a LiDAR edge is attracted only by image edges
            of its own orientation.
        orientation_leak: with ``oriented``, the fraction of every edge's strength that goes to
            both channels (0: split by direction alone; 1: both channels are the plain map), so a
            LiDAR edge is also drawn, more weakly, to image edges of the other orientation.

    Returns:
        One map per sigma, (H, W) or with ``oriented`` (2, H, W), with unit standard deviation.
    """
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.sqrt(gx * gx + gy * gy)
    strength = magnitude / (np.percentile(magnitude, 99) + 1e-6)
    np.minimum(strength, 1.0, out=strength)  # saturate: one very strong edge must not dominate
    parts = [strength]
    if oriented:
        if not 0.0 <= orientation_leak <= 1.0:
            raise ValueError(f"orientation_leak must lie in [0, 1], got {orientation_leak}")
        parts = [
            strength
            * ((1.0 - orientation_leak) * np.abs(g) / (magnitude + 1e-6) + orientation_leak)
            for g in (gx, gy)
        ]
    maps = []
    for s in sigmas:
        # local contrast of the edge strength: a difference of Gaussians
        a = np.stack(
            [
                cv2.GaussianBlur(q, (0, 0), s) - cv2.GaussianBlur(q, (0, 0), 4.0 * s + 4.0)
                for q in parts
            ]
        )
        a /= a.std() + 1e-6
        maps.append((a if oriented else a[0]).astype(np.float32))
    return maps


@dataclasses.dataclass(frozen=True)
class LidarEdges:
    """Edge points of one scan (LiDAR frame) and how strongly each is an edge (0..1]."""

    points: np.ndarray  # (M, 3) float32
    weights: np.ndarray  # (M,) float32
    # (M,) bool: the edge line runs more horizontally than vertically: every range jump across
    # rings (a roof line), and an edge found along a ring whose line continues shallowly into
    # the neighbouring rings (a kerb seen at a grazing angle)
    horizontal: np.ndarray


def lidar_edges(
    points: np.ndarray,
    intensity: np.ndarray | None = None,
    *,
    azimuth_res_deg: float = 0.2,
    elevation_res_deg: float = 0.4,
    min_jump_m: float = 0.5,
    ratio: float = 3.0,
    min_range_m: float = 2.0,
    max_range_m: float = 60.0,
    min_contrast: float = 0.25,
    intensity_weight: float = 0.5,
    boundary_shift: tuple[float, float] = (0.0, 0.5),
) -> LidarEdges:
    """Points at range discontinuities of a spherical range image of the scan.

    Args:
        points: (N, 3) metres, LiDAR frame (x forward, z up, the usual LiDAR convention).
        azimuth_res_deg, elevation_res_deg: cell size of the range image (about the beam
            spacing; the azimuth cell is doubled while a sparser scan leaves gaps; a sensor
            whose rings have fixed elevations gets one row per ring instead, see
            :func:`_rows`).
        min_jump_m: smallest range difference that can be an edge (also 5 % of the range).
        ratio: the jump must exceed this times the range change on the far side of both points.
        min_range_m, max_range_m: points outside this range are ignored.
        intensity: (N,) reflectivity (any scale); with it, reflectivity edges along a ring on a
            continuous surface (road markings, signs) are edges too: a change of at least
            ``min_contrast`` of the 99th percentile, the brighter point kept.
        intensity_weight: weight of a full-contrast reflectivity edge.
        boundary_shift: (along a ring, across rings) fraction of the way from the nearer
            return's direction towards the farther one's at which a range edge is placed (at
            the nearer range). The true silhouette lies somewhere between the two beams, on
            average half-way; the nearer return alone puts every silhouette inside the object,
            a bias of half the beam spacing that the pose search turns into a few cm of
            translation (measured on synthetic streets with exact ground truth). Across rings
            the spacing (~0.4 deg on a 64-beam sensor) is far wider than a beam: half-way. Along
            a ring the spacing (~0.1-0.2 deg) is about one beam's divergence, so a beam that
            clips the edge still returns the object and fattens it by about as much: 0 there
            (the choices are compared on KITTI in the README's refinement section).

    Returns:
        Range-edge foreground points, shifted as above (weight = jump / (jump + 2 m)), then
        reflectivity-edge midpoints between the two returns (weight = ``intensity_weight`` x
        normalised contrast).
    """
    p = np.asarray(points, dtype=np.float64)
    r = np.linalg.norm(p, axis=1)
    keep = np.isfinite(r) & (r > min_range_m) & (r < max_range_m)
    inten = None
    if intensity is not None:
        inten = np.asarray(intensity, dtype=np.float64)[keep]
        keep_i = np.isfinite(inten)
        inten = np.where(keep_i, inten, 0.0) / (np.percentile(inten[keep_i], 99) + 1e-9)
    p, r = p[keep], r[keep]
    az = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    el = np.degrees(np.arcsin(np.clip(p[:, 2] / r, -1, 1)))
    row, row_deg = _rows(el, elevation_res_deg)
    # a sparser sensor than the cell size leaves empty cells between neighbours: coarsen until
    # most occupied cells have an occupied right-hand neighbour
    res = azimuth_res_deg
    while True:
        idx = _range_image(row, az, r, res)
        occupied = idx >= 0
        linked = (occupied & np.roll(occupied, -1, axis=1)).sum() / max(occupied.sum(), 1)
        if linked > 0.6 or res >= 8 * azimuth_res_deg:
            break
        res *= 2
    rng = np.where(idx >= 0, r[np.maximum(idx, 0)], np.nan)
    found, behind, strength, frac, flat = [], [], [], [], []
    for axis in (1, 0):  # along a ring (vertical edges), then across rings (horizontal edges)
        r0, r1, r2, r3 = (np.roll(rng, -k, axis=axis) for k in (-1, 0, 1, 2))
        i1, i2 = idx, np.roll(idx, -1, axis=axis)
        jump = np.abs(r2 - r1)
        side = np.fmax(np.abs(r1 - r0), np.abs(r3 - r2))  # NaN-free where one side is known
        ok = (jump > np.maximum(min_jump_m, 0.05 * np.fmin(r1, r2))) & (~(side * ratio >= jump))
        ok &= np.isfinite(r1) & np.isfinite(r2) & np.isfinite(side)  # a known side to compare
        if axis == 0:  # rolling across the top/bottom of the image is not a neighbour
            ok[-1] = False
        near = np.where(r1 < r2, i1, i2)[ok]
        found.append(near)
        behind.append(np.where(r1 < r2, i2, i1)[ok])
        strength.append(jump[ok])
        frac.append(np.full(int(ok.sum()), boundary_shift[1 - axis]))
        flat.append(np.ones(int(ok.sum()), bool) if axis == 0 else _shallow(ok, res, row_deg)[ok])
    near, far, jump, frac, flat = (
        np.concatenate(x) for x in (found, behind, strength, frac, flat)
    )
    near, first = np.unique(near, return_index=True)
    weights = jump[first] / (jump[first] + 2.0)
    horizontal = flat[first]
    out = p[near]
    if any(boundary_shift):  # the silhouette lies between the two beams, not on the nearer one
        d_far = p[far[first]] / r[far[first], None]
        d_near = out / r[near, None]
        d = d_near + frac[first, None] * (d_far - d_near)
        out = d / np.linalg.norm(d, axis=1, keepdims=True) * r[near, None]
    if inten is not None:
        ok, contrast = _reflectivity_edges(idx, rng, inten, min_jump_m, min_contrast)
        a, b = idx[ok], np.roll(idx, -1, axis=1)[ok]
        out = np.r_[out, 0.5 * (p[a] + p[b])]  # the boundary lies between the two returns
        weights = np.r_[weights, intensity_weight * np.minimum(contrast[ok], 1.0)]
        horizontal = np.r_[horizontal, _shallow(ok, res, row_deg)[ok]]
    return LidarEdges(out.astype(np.float32), weights.astype(np.float32), horizontal)


def _rows(el: np.ndarray, res_deg: float) -> tuple[np.ndarray, float | np.ndarray]:
    """Range-image row of each point (by elevation ``el``, degrees) and the elevation spacing
    of the rows (degrees; per row (rows, 1), or one number).

    Where every beam has a fixed elevation, the rings show as narrow, separated peaks of the
    elevation histogram: one row per ring, cut half-way between neighbouring rings, however
    unevenly they are spaced (sensors that pack rings much closer than ``res_deg`` near the
    horizon would otherwise have two or three rings share a row). Where the rings smear with
    range (a multi-head sensor seen from its centre, such as KITTI's HDL-64), rows are
    ``res_deg`` bands of elevation, the empty ones dropped.
    """
    fine = 0.02
    bins = np.arange(el.min(), el.max() + 2 * fine, fine)
    count = np.histogram(el, bins)[0]
    step = np.diff(np.r_[0, (count > 0.002 * count.max()).astype(np.int8), 0])
    start, end = np.flatnonzero(step == 1), np.flatnonzero(step == -1)
    if len(start) >= 8 and (end - start).max() * fine < 0.5 * res_deg:
        centre = 0.5 * (bins[start] + bins[end])
        gap = np.diff(centre)
        spacing = 0.5 * (np.r_[gap[0], gap] + np.r_[gap, gap[-1]])
        return np.searchsorted(0.5 * (centre[1:] + centre[:-1]), el), spacing[:, None]
    row = np.floor((el - el.min()) / res_deg).astype(np.int64)
    row = np.unique(row, return_inverse=True)[1].ravel()  # drop rows between beams
    return row, (el.max() - el.min()) / max(int(row.max()), 1)  # mean spacing of the rows


def _range_image(row: np.ndarray, az: np.ndarray, r: np.ndarray, res_deg: float) -> np.ndarray:
    """(rows, 360 / res) index of the nearest point per cell, -1 where empty."""
    col = np.floor((az + 180.0) / res_deg).astype(np.int64)
    w, h = int(np.ceil(360.0 / res_deg)) + 1, row.max() + 1
    cell = row * w + col
    order = np.lexsort((r, cell))
    first = np.r_[True, cell[order][1:] != cell[order][:-1]]
    idx = np.full(h * w, -1, np.int64)
    idx[cell[order][first]] = order[first]
    return idx.reshape(h, w)


def _reflectivity_edges(idx, rng, inten, max_step_m, min_contrast):
    """Along each ring: cells whose right-hand neighbour lies on the same surface (range step
    below ``max_step_m``) with a normalised reflectivity ``min_contrast`` or more apart -> (that
    mask, the reflectivity difference per cell)."""
    i1, i2 = idx, np.roll(idx, -1, axis=1)
    both = (i1 >= 0) & (i2 >= 0)
    same_surface = np.abs(rng - np.roll(rng, -1, axis=1)) < max_step_m
    c = np.abs(inten[np.maximum(i1, 0)] - inten[np.maximum(i2, 0)])
    return both & same_surface & (c >= min_contrast), c


def _shallow(edge: np.ndarray, col_deg: float, row_deg, reach: int = 16) -> np.ndarray:
    """Per cell of a (rows, cols) mask of edges found along the rings: whether the edge line
    through it runs more horizontally than vertically, judged from where the line continues in
    the rings above and below (the nearest edge cell within ``reach`` columns, the shift
    averaged over both). A cell with no such neighbour counts as vertical (a silhouette ends
    there)."""
    offsets = sorted(range(-reach, reach + 1), key=abs)
    total, count = np.zeros(edge.shape), np.zeros(edge.shape)
    for dr in (1, -1):  # the ring above, the ring below
        shift, found = np.zeros(edge.shape), np.zeros(edge.shape, bool)
        for k in offsets:
            hit = np.roll(edge, (-dr, -k), axis=(0, 1)) & ~found
            shift[hit] = k * dr  # columns per ring, upwards
            found |= hit
        found[-1 if dr == 1 else 0] = False  # no ring beyond the top / bottom one
        total += np.where(found, shift, 0.0)
        count += found
    return edge & (np.abs(total) * col_deg > row_deg * np.maximum(count, 1))

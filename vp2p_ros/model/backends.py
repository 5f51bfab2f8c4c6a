"""Choose between the pure-torch ops and native extensions, per op family and forward pass.

Families: point ops (FPS, ball query, grouping, 3-NN) with pointnet2_ops (CUDA only) as native,
and sparse convolutions with spconv 2.x (CPU or CUDA) as native. For each family ``"torch"``
always works; ``"native"`` raises if the extension is missing (or, for pointnet2_ops, the tensors
are not on CUDA); ``"auto"`` uses the native one on CUDA where installed (warning once when it is
not) and torch on the CPU, where ours is faster (spconv's CPU kernels must run single-threaded).
torchsparse itself is not called: our sparse ops reproduce its v2.0.0 semantics, and later
releases changed the kernel layout the published weights use.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import types
import warnings

from vp2p_ros.model.ops import points as torch_points
from vp2p_ros.model.ops import sparse as torch_sparse

__all__ = ["available", "point_ops", "selected", "sparse_ops"]

_state = threading.local()
_warned: set = set()


@functools.lru_cache(maxsize=1)
def _probe() -> tuple:
    out = []
    for name in ("pointnet2_ops", "spconv", "torchsparse"):
        try:
            __import__(name)
            out.append((name, True))
        except Exception:  # ImportError, or a broken CUDA build raising anything
            out.append((name, False))
    return tuple(out)


def available() -> dict:
    """Which native extensions import here: {"pointnet2_ops": bool, "spconv": bool, ...}."""
    return dict(_probe())


def _native_point_ops():
    from pointnet2_ops import pointnet2_utils as p

    def fps(xyz, npoint):
        return p.furthest_point_sample(xyz.float().contiguous(), npoint).long()

    def ball_query(radius, nsample, xyz, new_xyz):
        return p.ball_query(
            radius, nsample, xyz.float().contiguous(), new_xyz.float().contiguous()
        ).long()

    def group(features, idx):
        return p.grouping_operation(features.contiguous(), idx.int().contiguous())

    def three_nn(unknown, known):
        d, i = p.three_nn(unknown.float().contiguous(), known.float().contiguous())
        return d, i.long()

    def interp(features, idx, weight):
        return p.three_interpolate(
            features.contiguous(), idx.int().contiguous(), weight.contiguous()
        )

    return types.SimpleNamespace(
        furthest_point_sample=fps,
        ball_query=ball_query,
        group_points=group,
        three_nn=three_nn,
        three_interpolate=interp,
        knn=torch_points.knn,
    )


def _native_sparse_ops():
    from vp2p_ros.model.ops import sparse_spconv

    return types.SimpleNamespace(
        sparse_conv=sparse_spconv.spconv_conv,
        sparse_conv_transposed=sparse_spconv.spconv_conv_transposed,
    )


@contextlib.contextmanager
def selected(backend: str, on_cuda: bool, *, sparse: str | None = None):
    """Use ``backend`` for the ops called inside the block (thread-local).

    Args:
        backend: "auto" | "torch" | "native" for the point ops (and the sparse ops).
        on_cuda: whether the tensors live on CUDA.
        sparse: a different choice for the sparse convolutions (default: ``backend``).
    """
    prev = getattr(_state, "ops", None)
    _state.ops = (
        _resolve(backend, on_cuda, "pointnet2_ops"),
        _resolve(sparse or backend, on_cuda, "spconv"),
    )
    try:
        yield _state.ops
    finally:
        _state.ops = prev


def _resolve(backend: str, on_cuda: bool, ext: str):
    torch_ops = torch_points if ext == "pointnet2_ops" else torch_sparse
    native = _native_point_ops if ext == "pointnet2_ops" else _native_sparse_ops
    if backend == "torch" or (backend == "auto" and not on_cuda):
        return torch_ops  # (auto on the CPU never imports an extension)
    has = available()[ext]
    if backend == "native":
        if not has:
            raise ImportError(f"backend='native' needs {ext}, which is not importable")
        if ext == "pointnet2_ops" and not on_cuda:
            raise ValueError("backend='native' needs CUDA tensors (pointnet2_ops is CUDA-only)")
        return native()
    if backend != "auto":
        raise ValueError(f"backend must be auto, torch or native, got {backend!r}")
    if has and on_cuda:
        return native()
    if on_cuda and ext not in _warned:
        _warned.add(ext)
        warnings.warn(f"{ext} not installed: using the pure-torch ops", stacklevel=3)
    return torch_ops


def point_ops():
    """The point-op namespace of the current forward pass (pure torch outside ``selected``)."""
    ops = getattr(_state, "ops", None)
    return ops[0] if ops else torch_points


def sparse_ops():
    """The sparse-convolution namespace of the current forward pass (pure torch by default)."""
    ops = getattr(_state, "ops", None)
    return ops[1] if ops else torch_sparse

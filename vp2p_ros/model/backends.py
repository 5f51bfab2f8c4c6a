"""Choose between the pure-torch ops and the native CUDA extensions, per forward pass.

``"torch"`` always works (CPU and CUDA). ``"native"`` uses pointnet2_ops for the point ops (CUDA
tensors only) and raises if it is not importable. ``"auto"`` uses native ops where installed and
the tensors are on CUDA, and torch otherwise; a missing extension warns once. torchsparse is not
used even when installed: its v2.0.0 API is what our sparse ops reproduce, and later versions
changed the kernel layout, so the pure-torch sparse path is the faithful one everywhere.
"""

from __future__ import annotations

import contextlib
import threading
import types
import warnings

from vp2p_ros.model.ops import points as torch_points

__all__ = ["available", "point_ops", "selected"]

_state = threading.local()
_warned: set = set()


def available() -> dict:
    """Which native extensions import here: {"pointnet2_ops": bool, "torchsparse": bool}."""
    out = {}
    for name in ("pointnet2_ops", "torchsparse"):
        try:
            __import__(name)
            out[name] = True
        except Exception:  # ImportError, or a broken CUDA build raising anything
            out[name] = False
    return out


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


@contextlib.contextmanager
def selected(backend: str, on_cuda: bool):
    """Use ``backend`` for the ops called inside the block (thread-local)."""
    prev = getattr(_state, "ops", None)
    _state.ops = _resolve(backend, on_cuda)
    try:
        yield _state.ops
    finally:
        _state.ops = prev


def _resolve(backend: str, on_cuda: bool):
    if backend == "torch":
        return torch_points
    has = available()["pointnet2_ops"]
    if backend == "native":
        if not has:
            raise ImportError("backend='native' needs pointnet2_ops, which is not importable")
        if not on_cuda:
            raise ValueError("backend='native' needs CUDA tensors (pointnet2_ops is CUDA-only)")
        return _native_point_ops()
    if has and on_cuda:
        return _native_point_ops()
    if on_cuda and "pointnet2_ops" not in _warned:
        _warned.add("pointnet2_ops")
        warnings.warn("pointnet2_ops not installed: using the pure-torch point ops", stacklevel=3)
    return torch_points


def point_ops():
    """The point-op namespace of the current forward pass (pure torch outside ``selected``)."""
    return getattr(_state, "ops", None) or torch_points

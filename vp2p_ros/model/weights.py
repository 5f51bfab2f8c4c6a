"""Checkpoint I/O in one place, strictly.

* The published VP2P ``.pth``: a raw ``state_dict`` (also accepted inside ``{"model": ...}`` /
  ``{"state_dict": ...}`` wrappers and with a DataParallel ``module.`` prefix), loaded with
  ``torch.load(weights_only=True)`` onto the CPU.
* Our own format: safetensors with a JSON metadata block (``vp2p_config``, training data, metrics,
  ...); the model is rebuilt from the stored config. :func:`file_sha256` names the file.

Anything else (pickled code, truncated or corrupt files, wrong keys or shapes) raises
:class:`CheckpointError` naming the first problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from vp2p_ros.errors import CheckpointError
from vp2p_ros.model.config import VP2PConfig
from vp2p_ros.model.vp2p import VP2PMatchNet

__all__ = [
    "dequantize_int8",
    "file_sha256",
    "load_model",
    "load_state_dict_file",
    "quantize_int8",
    "save_safetensors",
]

_WRAPPERS = ("state_dict", "model", "model_state_dict", "net")
_SCALE = ".__int8_scale__"  # suffix of the per-slice scales of an int8-stored weight


def quantize_int8(sd: dict, min_numel: int = 4096) -> dict:
    """Weights with >= ``min_numel`` elements -> int8 with one float32 scale per slice along
    dim 0 (symmetric, absmax / 127); smaller or non-float tensors are kept as they are."""
    out = {}
    for k, v in sd.items():
        if not v.is_floating_point() or v.dim() < 2 or v.numel() < min_numel:
            out[k] = v
            continue
        w = v.float().reshape(v.shape[0], -1)
        scale = w.abs().amax(1).clamp(min=1e-12) / 127.0
        out[k] = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8).reshape(v.shape)
        out[k + _SCALE] = scale
    return out


def dequantize_int8(sd: dict) -> dict:
    """Inverse of :func:`quantize_int8` (float32 weights; other entries unchanged)."""
    out = {k: v for k, v in sd.items() if not k.endswith(_SCALE)}
    for k, scale in sd.items():
        if k.endswith(_SCALE):
            key = k[: -len(_SCALE)]
            q = out[key]
            out[key] = (q.float().reshape(q.shape[0], -1) * scale[:, None]).reshape(q.shape)
    return out


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _unwrap(obj) -> dict:
    if isinstance(obj, dict):
        for key in _WRAPPERS:
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError("checkpoint does not hold a state_dict (name -> tensor)")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return dict(obj)


def load_state_dict_file(path: str | Path) -> tuple[dict, dict]:
    """Read a checkpoint into (state_dict on CPU, metadata dict).

    Raises:
        CheckpointError: missing, unsafe (needs arbitrary pickled code), truncated or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt", device="cpu") as f:
                meta = dict(f.metadata() or {})
                sd = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from e
        if any(k.endswith(_SCALE) for k in sd):
            sd = dequantize_int8(sd)
        return sd, {k: json.loads(v) if k.startswith("json_") else v for k, v in meta.items()}
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise CheckpointError(
                f"{path} contains pickled Python objects besides tensors, which cannot be loaded "
                f"safely (torch.load weights_only=True refused: {msg}); re-save its state_dict"
            ) from e
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({msg})") from e
    return _unwrap(obj), {}


def _check_against(model: torch.nn.Module, sd: dict, path) -> None:
    expected = model.state_dict()
    for key, ref in expected.items():
        if key not in sd:
            raise CheckpointError(
                f"{path}: missing key {key!r} (first of the model's keys absent)"
            )
        if tuple(sd[key].shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{path}: key {key!r} has shape {tuple(sd[key].shape)}, the model expects "
                f"{tuple(ref.shape)}"
            )
        if not torch.isfinite(sd[key].float()).all():
            raise CheckpointError(f"{path}: key {key!r} has non-finite values")
    extra = [k for k in sd if k not in expected]
    if extra:
        raise CheckpointError(f"{path}: unexpected key {extra[0]!r} ({len(extra)} in all)")


def load_model(path: str | Path, cfg: VP2PConfig | None = None) -> tuple[VP2PMatchNet, dict]:
    """Build :class:`VP2PMatchNet` and load a checkpoint strictly; returns (model.eval(), meta).

    The config comes from ``cfg``, else from the file's metadata, else the KITTI defaults.
    """
    sd, meta = load_state_dict_file(path)
    if cfg is None:
        cfg = (
            VP2PConfig.from_dict(meta["json_vp2p_config"])
            if "json_vp2p_config" in meta
            else VP2PConfig()
        )
    model = VP2PMatchNet(cfg)
    _check_against(model, sd, path)
    model.load_state_dict(sd, strict=True)
    return model.eval(), meta


def save_safetensors(
    model: VP2PMatchNet, path: str | Path, *, dtype: torch.dtype | None = None, **metadata
) -> str:
    """Save weights + JSON metadata (the model's config is always included); returns the sha256.

    Args:
        model: the network.
        path: ``*.safetensors`` target.
        dtype: store floating-point tensors in this type (``torch.float16`` halves a shipped
            file; ``torch.int8`` quarters it: :func:`quantize_int8`); loading restores float32.
        **metadata: JSON-serialisable entries (training data, steps, metrics, licence, ...).
    """
    from safetensors.torch import save_file

    meta = {"json_vp2p_config": json.dumps(dataclasses.asdict(model.cfg))}
    meta.update({f"json_{k}": json.dumps(v) for k, v in metadata.items()})
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if dtype == torch.int8:
        sd = quantize_int8(sd)
    elif dtype is not None:
        sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
    if dtype is not None:
        meta["json_stored_dtype"] = json.dumps(str(dtype).replace("torch.", ""))
    save_file(sd, str(path), metadata=meta)
    return file_sha256(path)

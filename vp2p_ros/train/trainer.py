"""The training loop: losses on mined keypoints, AMP on CUDA, clipping, checkpoints, DDP.

``train(cfg, dataset)`` runs ``cfg.steps`` optimiser steps; with ``torchrun`` (``WORLD_SIZE`` > 1)
it wraps the model in DistributedDataParallel (gloo on CPU, nccl on CUDA) and shards the data
with a DistributedSampler. Rank 0 writes ``last.safetensors`` (+ metadata) and
``last_optim.pt`` (optimizer and RNG state, loadable with ``weights_only=True``) every
``checkpoint_every`` steps and at the end, and a ``log.csv`` of the losses; ``resume`` continues
from them.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from vp2p_ros.model import VP2PMatchNet
from vp2p_ros.model.config import PRESETS
from vp2p_ros.model.weights import load_state_dict_file, save_safetensors
from vp2p_ros.train.evaluation import evaluate_pair
from vp2p_ros.train.losses import detection_loss, matching_loss
from vp2p_ros.train.pose_loss import pose_loss
from vp2p_ros.train.run_log import RunLog

__all__ = ["TrainConfig", "loss_curve", "train", "train_step"]

UNUSED_PREFIX = "resnet.encoder.backbone.fc."  # ResNet's classifier, kept only for the keys


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Attributes:
    preset: model size preset (``kitti`` = the paper's inputs, ``tiny`` = CPU smoke runs).
    steps, batch_size, lr, weight_decay, grad_clip: optimisation.
    det_weight: weight of the detection loss against the matching loss.
    amp: float16 autocast + grad scaling (CUDA only; ignored on CPU).
    checkpoint_every: steps between checkpoints; out: output folder; seed: everything seeded.
    pose_weight, pose_start: weight of the end-to-end KL pose loss (:mod:`.pose_loss`) and the
        step it starts at (0 weight = off; it is large on an untrained network, so start it
        once the matches mean something).
    eval_every: steps between registration validations on ``val_frames`` (0 = never).
    max_minutes: wall-clock budget; the run checkpoints and stops when it is spent (0 = none).
    tensorboard: also write TensorBoard events to ``out/tb`` (when the package is installed).
    """

    preset: str = "tiny"
    steps: int = 1000
    batch_size: int = 2
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 10.0
    det_weight: float = 1.0
    amp: bool = True
    checkpoint_every: int = 200
    out: str = "out/train"
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    pose_weight: float = 0.0
    pose_start: int = 0
    eval_every: int = 0
    max_minutes: float = 0.0
    tensorboard: bool = True


def _gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, C, M) or (B, M), idx (B, K) -> (B, C, K) or (B, K)."""
    if x.dim() == 2:
        return torch.gather(x, 1, idx)
    return torch.gather(x, 2, idx[:, None, :].expand(-1, x.shape[1], -1))


def train_step(
    model, batch: dict, det_weight: float = 1.0, pose_weight: float = 0.0
) -> tuple[torch.Tensor, dict]:
    """Forward + losses of one batch; returns (loss, numbers to log)."""
    inputs = {k: batch[k] for k in ("points", "intensity", "normals", "image")}
    out = model(inputs)
    f = F.normalize(out["pixel_features"].flatten(2), dim=1)  # (B, C, H*W)
    g = F.normalize(out["point_features"], dim=1)  # (B, C, N)
    fi, gj = _gather(f, batch["pixel_in"]), _gather(g, batch["point_in"])
    sim = fi.transpose(1, 2) @ gj  # (B, K, K)
    positive = batch["positive"]
    l_match = matching_loss(sim.float(), positive)
    s_img, s_pc = out["pixel_scores"].flatten(1), out["point_scores"]
    l_det = detection_loss(
        _gather(s_img, batch["pixel_in"]),
        _gather(s_pc, batch["point_in"]),
        _gather(s_img, batch["pixel_out"]),
        _gather(s_pc, batch["point_out"]),
    )
    with torch.no_grad():  # pixels with a correspondence whose nearest point is one of them
        has = positive.any(-1)
        best = sim.argmax(-1, keepdim=True)
        hit = torch.gather(positive, 2, best)[..., 0] & has
        precision = (hit.sum() / has.sum().clamp(min=1)).item()
    loss = l_match + det_weight * l_det
    numbers = {"match": l_match.item(), "det": l_det.item(), "precision": precision}
    if pose_weight > 0:
        l_pose = pose_loss(out, batch)
        loss = loss + pose_weight * l_pose
        numbers["pose"] = l_pose.item()
    return loss, {"loss": loss.item(), **numbers}


def _device(cfg: TrainConfig) -> torch.device:
    if cfg.device != "auto":
        return torch.device(cfg.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(
    cfg: TrainConfig,
    dataset,
    resume: bool = False,
    extra_meta: dict | None = None,
    val_frames: list | None = None,
    protocol=None,
) -> dict:
    """Run the loop; returns the step reached and the last logged numbers (rank 0's view).

    ``val_frames`` (frames or loaders) are registered every ``cfg.eval_every`` steps with
    ``protocol`` (the training one; seeded per pair, so every validation sees the same pairs):
    RTE / RRE / success go to ``val.csv`` and TensorBoard, with the first pair's projection."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = _device(cfg)
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.manual_seed(cfg.seed)
    started = time.monotonic()
    out = Path(cfg.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    model = VP2PMatchNet(PRESETS[cfg.preset]).to(device).train()
    for name, p in model.named_parameters():  # in the release's state_dict, never in forward()
        if name.startswith(UNUSED_PREFIX):
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = 0
    if resume and (out / "last.safetensors").exists():
        sd, meta = load_state_dict_file(out / "last.safetensors")
        model.load_state_dict(sd)
        state = torch.load(out / "last_optim.pt", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])  # dropout masks continue as if never stopped
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        step = int(meta.get("json_step", 0))
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    sampler = None
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(dataset, seed=cfg.seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=cfg.workers,
        drop_last=True,
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    log = RunLog(out, cfg.tensorboard) if rank == 0 else None
    numbers: dict = {}
    bar = tqdm(total=cfg.steps, initial=step, desc="training", unit="step", disable=rank != 0)
    epoch = step // max(len(loader), 1)
    stop = step >= cfg.steps
    first_step, loop_started = step, time.monotonic()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    while not stop:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            pose_w = cfg.pose_weight if step >= cfg.pose_start else 0.0
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                loss, numbers = train_step(net, batch, cfg.det_weight, pose_w)
            if cfg.pose_weight > 0:
                numbers.setdefault("pose", float("nan"))  # constant CSV columns
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            numbers["grad_norm"] = float(
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            )
            scaler.step(opt)
            scaler.update()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{numbers['loss']:.3f}", prec=f"{numbers['precision']:.2f}")
            over_time = cfg.max_minutes > 0 and time.monotonic() - started > 60 * cfg.max_minutes
            if world > 1:  # every rank stops at the same step
                flag = torch.tensor([float(over_time)], device=device)
                torch.distributed.all_reduce(flag)
                over_time = bool(flag.item() > 0)
            stop = step >= cfg.steps or over_time
            if rank == 0:
                log.scalars("log", step, numbers)
                if cfg.eval_every and val_frames and (step % cfg.eval_every == 0 or stop):
                    _validate(model, val_frames, protocol, device, log, step, out)
                if step % cfg.checkpoint_every == 0 or stop:
                    _checkpoint(model, opt, out, step, cfg, extra_meta)
            if stop:
                break
        epoch += 1
    bar.close()
    if rank == 0:
        _report_throughput(step - first_step, time.monotonic() - loop_started, cfg, world, device)
        if step < cfg.steps:
            print(
                f"stopped at step {step} of {cfg.steps}: the {cfg.max_minutes} min budget is spent"
            )
        log.close()
    if world > 1:
        torch.distributed.barrier()
    return {"step": step, **numbers}


def _report_throughput(steps: int, seconds: float, cfg: TrainConfig, world: int, device) -> None:
    """Print training pairs per second (all ranks, validation included) and peak GPU memory."""
    if steps <= 0:
        return
    pairs = steps * cfg.batch_size * world
    line = f"{steps} steps in {seconds:.0f} s: {pairs / seconds:.2f} pairs/s ({world} process(es))"
    if device.type == "cuda":
        line += f", peak CUDA memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
    print(line)


def _validate(model, frames, protocol, device, log: RunLog, step: int, out: Path) -> dict:
    """Registration on the validation pairs (eval mode, seeded pairs) -> val.csv / TensorBoard."""
    from vp2p_ros.protocol import summarize
    from vp2p_ros.train.evaluation import default_protocol, projection_pictures
    from vp2p_ros.viz import save_png, stack_vertical

    model.eval()
    protocol = protocol or default_protocol(model.cfg)
    rows, first = [], None
    for k, item in enumerate(frames):
        frame = item() if callable(item) else item
        row, sample, T_pred = evaluate_pair(
            model, frame, protocol, np.random.default_rng([0, k]), device=device
        )
        rows.append(row)
        first = first or projection_pictures(sample, T_pred)
    model.train()
    s = summarize(rows)
    numbers = {
        "rte_mean": s["rte_mean"],
        "rre_mean": s["rre_mean"],
        "geodesic_deg_mean": s["rot_geodesic_deg_mean"],
        "success": s["success_rate"],
        "solved": float(np.mean([r["status"] == "ok" for r in rows])),
        "input_success": float(np.mean([r["input_success"] for r in rows])),
    }
    log.scalars("val", step, numbers)
    picture = stack_vertical([first["proj_pred"], first["proj_gt"]])
    log.image("val/proj_pred_over_gt", step, picture)
    save_png(out / "val_latest.png", picture)
    return numbers


def _checkpoint(model, opt, out: Path, step: int, cfg: TrainConfig, extra: dict | None) -> None:
    meta = {"step": step, "train_config": dataclasses.asdict(cfg), **(extra or {})}
    save_safetensors(model, out / "last.safetensors", **meta)
    state = {"optimizer": opt.state_dict(), "rng": torch.get_rng_state()}
    if torch.cuda.is_available() and next(model.parameters()).is_cuda:
        state["cuda_rng"] = torch.cuda.get_rng_state()
    torch.save(state, out / "last_optim.pt")


def loss_curve(log_csv: Path, png: Path, val_csv: Path | None = None) -> None:
    """Plot log.csv (loss and match precision against steps) and, when given, val.csv
    (validation registration success and mean RRE)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("log", log_csv, "loss"), ("log", log_csv, "precision")]
    if val_csv is not None and Path(val_csv).exists():
        panels += [("val", val_csv, "success"), ("val", val_csv, "rre_mean")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5))
    for a, (name, path, key) in zip(axes, panels):
        rows = list(csv.DictReader(open(path)))
        a.plot(
            [float(r["step"]) for r in rows],
            [float(r[key]) for r in rows],
            marker="." if name == "val" else None,
        )
        a.set_xlabel("step")
        a.set_ylabel(f"{name} {key}")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)

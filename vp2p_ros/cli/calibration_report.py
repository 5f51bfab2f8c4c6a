"""What ``vp2p-calibrate-bag`` writes: calibration, URDF, calib.json, CSV, report, pictures."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from vp2p_ros.calib.export import dvlc_calib_json, urdf_joint, write_calibration_yaml
from vp2p_ros.geometry import matrix_to_rpy, pose_difference
from vp2p_ros.refine.align import alignment_score
from vp2p_ros.viz import draw_projection, label, save_png, stack_vertical

__all__ = ["write_outputs"]


def _errors(T, T_ref) -> tuple[float, float]:
    d = pose_difference(T, T_ref)
    return float(np.degrees(np.linalg.norm(d[3:]))), float(np.linalg.norm(d[:3]))


def _plot(rows: list[dict], T_final: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    for key, marker in (("T_frame", "o"), ("T_fused", "-")):
        k = [r["frame"] for r in rows if r[key] is not None]
        err = np.array([_errors(r[key], T_final) for r in rows if r[key] is not None])
        if len(err):
            name = "single frame" if key == "T_frame" else "fused (published)"
            axes[0].plot(k, err[:, 0], marker, label=name)
            axes[1].plot(k, 100 * err[:, 1], marker, label=name)
    axes[0].set_ylabel("rotation (deg)")
    axes[1].set_ylabel("translation (cm)")
    axes[1].set_xlabel("frame")
    for ax in axes:
        ax.grid(alpha=0.3)
    if axes[0].lines:
        axes[0].legend()
    fig.suptitle("distance of each estimate from the final calibration")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _row_text(name, T, cov, score, T_gt) -> str:
    xyz = " ".join(f"{v:+.4f}" for v in T[:3, 3])
    rpy = " ".join(f"{v:+.3f}" for v in np.degrees(matrix_to_rpy(T[:3, :3])))
    std = "—"
    if cov is not None:
        s = np.sqrt(np.diag(cov))
        std = f"{100 * s[:3].max():.2f} cm / {np.degrees(s[3:]).max():.3f}°"
    gt = "—"
    if T_gt is not None:
        r, t = _errors(T, T_gt)
        gt = f"{r:.3f}° / {100 * t:.2f} cm"
    return f"| {name} | {xyz} | {rpy} | {std} | {score:.4f} | {gt} |"


def write_outputs(
    out: Path,
    args,
    frame_ids,
    rows,
    kept,
    data,
    T_init,
    fused,
    final,
    T_gt,
    seconds,
    gate_passed: int,
    fused_converged: bool,
) -> None:
    """Everything a user looks at after an offline calibration, in ``out``; ``gate_passed``:
    how many single-frame estimates passed the quality gate (rows say which were published);
    ``fused_converged``: False when the bag ended before the fusion converged."""
    camera_frame, lidar_frame = frame_ids
    T_final, cov_final, source = final
    meta = {
        "bag": str(args.bag),
        "image_topic": f"{args.camera}/image",
        "camera_info_topic": f"{args.camera}/camera_info",
        "points_topic": args.lidar,
        "frames": len(rows),
        "passed_quality_gate": int(gate_passed),
        "published": int(sum(r["accepted"] for r in rows)),
        "estimator": "vp2p_ros edge refinement + SE(3) fusion",
        "result": source,
    }
    write_calibration_yaml(
        out / "calibration.yaml", T_final, cov_final, camera_frame, lidar_frame, meta
    )
    (out / "urdf_joint.xml").write_text(urdf_joint(T_final, camera_frame, lidar_frame))
    dvlc_meta = {
        "bag_names": [Path(args.bag).name],
        "camera_info_topic": meta["camera_info_topic"],
        "data_path": str(Path(args.bag).parent),
        "image_topic": meta["image_topic"],
        "intensity_channel": "intensity",
        "points_topic": args.lidar,
    }
    (out / "calib.json").write_text(dvlc_calib_json(T_final, T_init, kept[0].camera, dvlc_meta))
    with open(out / "frames.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "frame",
                "stamp_ns",
                "status",
                "accepted",
                "state",
                "rot_deg_from_final",
                "trans_m_from_final",
                "message",
            ]
        )
        for r in rows:
            rot, tr = _errors(r["T_frame"], T_final) if r["T_frame"] is not None else ("", "")
            w.writerow(
                [
                    r["frame"],
                    r["stamp_ns"],
                    r["status"],
                    r["accepted"],
                    r["state"],
                    rot,
                    tr,
                    r["message"],
                ]
            )
    _plot(rows, T_final, out / "estimates.png")
    pictures = []
    for f in (kept[0], kept[len(kept) // 2], kept[-1]):
        pictures.append(label(draw_projection(f.image, f.points, T_init, f.camera), "initial"))
        pictures.append(label(draw_projection(f.image, f.points, T_final, f.camera), "calibrated"))
    save_png(out / "overlay_before_after.png", stack_vertical(pictures))
    lines = [
        "# vp2p-calibrate-bag report",
        "",
        f"Bag `{args.bag}`: {len(rows)} synchronised frames, {gate_passed} single-frame "
        f"estimates passed the quality gate, {meta['published']} published once the fusion "
        f"converged; {seconds:.1f} s ({seconds / len(rows):.2f} s per frame here).",
        "",
        "`T_cam_lidar` maps LiDAR points into the camera frame. Std: largest 1-sigma axis. "
        f"Score: edge alignment on the {len(kept)} frames of the final pass (higher is better).",
        "",
        "| extrinsic | xyz (m) | rpy (deg) | std | score | error vs ground truth |",
        "|---|---|---|---|---|---|",
        _row_text("initial", T_init, None, alignment_score(data, T_init), T_gt),
    ]
    if fused is not None:
        lines.append(
            _row_text(
                "fused (node output)"
                if fused_converged
                else "fused, not converged when the bag ended",
                fused.T_cam_lidar,
                fused.covariance,
                alignment_score(data, fused.T_cam_lidar),
                T_gt,
            )
        )
    lines.append(
        _row_text(
            f"**result**: {source}", T_final, cov_final, alignment_score(data, T_final), T_gt
        )
    )
    if T_gt is not None:
        lines.append(
            _row_text("ground truth (bag)", T_gt, None, alignment_score(data, T_gt), T_gt)
        )
    lines += [
        "",
        "Files: calibration.yaml, urdf_joint.xml, calib.json, frames.csv, estimates.png, "
        "overlay_before_after.png.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")

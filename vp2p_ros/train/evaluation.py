"""VP2P's registration evaluation (``run_kitti.py::test_acc_trans``) as a library function.

Used by ``vp2p-eval`` and by the trainer's periodic validation. Per pair: VP2P's input with a
seeded random perturbation, network, the released selection (scores > thresholds, first-N caps)
and cosine matching, EPnP-RANSAC at K_4 (500 iterations, 1 px) -> ``T_pred``; a failed solve
leaves the input pose (identity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vp2p_ros.calib.vp2p_estimator import network_inputs
from vp2p_ros.protocol import ProtocolConfig, make_sample, registration_errors
from vp2p_ros.solvers.reference import ReferenceConfig, select_and_match, solve_pnp_ransac
from vp2p_ros.viz import draw_projection, save_png

__all__ = [
    "default_protocol",
    "evaluate",
    "evaluate_pair",
    "load_frames",
    "projection_pictures",
]


def load_frames(data_path: str) -> list:
    """Frames of ``--data_path`` (see the module doc)."""
    if data_path.endswith((".yaml", ".yml")):
        import yaml

        from vp2p_ros.train.sources import load_source

        doc = yaml.safe_load(Path(data_path).read_text())
        if "val" not in doc:
            raise ValueError(f"{data_path} has no 'val' section to evaluate on")
        return load_source(doc["val"])
    if data_path.startswith("synthetic:"):
        from vp2p_ros.data.synthetic import synthetic_frame

        _, first, count = data_path.split(":")
        return [synthetic_frame(int(first) + i) for i in range(int(count))]
    from vp2p_ros.data import BUNDLED_KITTI_RAW, kitti_raw_indices, load_kitti_raw

    path = BUNDLED_KITTI_RAW if data_path == "bundled" else Path(data_path)
    return [load_kitti_raw(path, i) for i in kitti_raw_indices(path)]


def evaluate_pair(
    model, frame, protocol: ProtocolConfig, rng, ref=ReferenceConfig(), device="cpu"
):
    """One pair: (row of errors and solver numbers, the network sample, ``T_pred``)."""
    sample = make_sample(frame, protocol, rng=rng)
    with torch.inference_mode():
        out = model(network_inputs(sample, device))
    uv, idx = select_and_match(
        *(
            out[key][0].float().cpu().numpy()
            for key in ("pixel_features", "point_features", "pixel_scores", "point_scores")
        ),
        ref,
    )
    res = solve_pnp_ransac(uv, sample.points[idx], sample.camera_feat.K, ref)
    T_pred = res.T_cam_lidar if res.ok else np.eye(4)
    err = registration_errors(T_pred, sample.P)
    before = registration_errors(np.eye(4), sample.P)  # the perturbation itself: no registration
    row = {
        "frame": frame.name,
        "status": res.status,
        "matches": res.num_matches,
        "inliers": res.num_inliers,
        **{key: float(v) for key, v in err.items()},
        **{f"input_{key}": float(before[key]) for key in ("rte", "rre", "success")},
    }
    return row, sample, T_pred


def default_protocol(cfg) -> ProtocolConfig:
    """The paper's protocol with a model config's input sizes."""
    return ProtocolConfig(
        crop_height=cfg.image_height, crop_width=cfg.image_width, num_points=cfg.num_points
    )


def evaluate(
    model,
    frames,
    seed=0,
    ref=ReferenceConfig(),
    device="cpu",
    vis_dir=None,
    progress=True,
    protocol: ProtocolConfig | None = None,
) -> list:
    """Rows (dict per pair) of the evaluation; ``vis_dir`` gets the three pictures per pair.

    Pair ``k`` is drawn with ``default_rng([seed, k])``. ``protocol`` defaults to
    :func:`default_protocol`; pass the training run's when it changed other options."""
    protocol = protocol or default_protocol(model.cfg)
    rows = []
    for k, item in enumerate(tqdm(frames, desc="pairs", unit="pair", disable=not progress)):
        frame = item() if callable(item) else item
        row, sample, T_pred = evaluate_pair(
            model, frame, protocol, np.random.default_rng([seed, k]), ref, device
        )
        rows.append({"pair": k, **row})
        if vis_dir is not None:
            for name, picture in projection_pictures(sample, T_pred).items():
                save_png(Path(vis_dir) / f"{k:04d}_{name}.png", picture)
    return rows


def projection_pictures(sample, T_pred) -> dict[str, np.ndarray]:
    """``proj_input`` / ``proj_pred`` / ``proj_gt``: the sample's points on its image crop."""
    img = (np.transpose(sample.image, (1, 2, 0)) * 255).astype(np.uint8)
    poses = {"proj_input": np.eye(4), "proj_pred": T_pred, "proj_gt": sample.P}
    return {
        name: draw_projection(img, sample.points, T, sample.camera, radius=0)
        for name, T in poses.items()
    }

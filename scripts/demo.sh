#!/usr/bin/env bash
# Run the main job on the embedded default (bundled real KITTI frames, no arguments needed):
# sets up .venv with the pinned dependencies and the ROS 2 wheels (as scripts/test.sh), then
# bag -> vp2p_calibration_node (own process) -> replay -> final extrinsic vs ground truth, with
# pictures in out/demo/. Idempotent. Extra arguments go to `python -m vp2p_ros.ros.demo`.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_ros_test
export MPLBACKEND=Agg
cd "$ROOT"
run_isolated "$PY" -m vp2p_ros.ros.demo "$@"

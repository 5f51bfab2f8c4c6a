#!/usr/bin/env bash
# Run a command in the test environment (.venv with the ROS 2 test wheels, msg/ built), from the
# repository root and not isolated: e.g. bash scripts/ros_env.sh python -m benchmarks.dds_discovery
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_ros_test
cd "$ROOT"
PATH="$V/bin:$PATH" exec "$@"

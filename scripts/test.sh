#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: creates .venv, installs the pinned dependencies and
# the ROS 2 test wheels, builds msg/ (colcon) and the CI tf2_msgs shim, then runs pytest isolated
# on loopback. Idempotent. Extra arguments go to pytest (e.g. scripts/test.sh -k camera).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_ros_test
export ROS_PYTHON_CHECK_FIELDS=1 MPLBACKEND=Agg
cd "$ROOT"
set +e
run_isolated "$PY" -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then log "pytest collected no tests: failing"; exit 1; fi
exit $rc

#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: creates .venv, installs the pinned dependencies and
# the ROS 2 test wheels, builds msg/ (colcon) and the CI tf2_msgs shim, then runs pytest isolated
# on loopback. Idempotent. Extra arguments go to pytest (e.g. scripts/test.sh -k camera).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_ros_test
export ROS_PYTHON_CHECK_FIELDS=1 FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$((RANDOM % 100))} MPLBACKEND=Agg
cd "$ROOT"
args=(-m pytest -q -p no:cacheprovider "$@")
set +e
if unshare -n true 2>/dev/null; then
  log "running pytest in a loopback-only network namespace (unshare -n)"
  unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$0" "$@"' "$PY" "${args[@]}"
else
  log "unshare -n not permitted: running pytest with a loopback-only Fast DDS profile"
  FASTDDS_DEFAULT_PROFILES_FILE=$ROOT/ci/fastdds_lo_large.xml ROS_AUTOMATIC_DISCOVERY_RANGE=SYSTEM_DEFAULT \
    "$PY" "${args[@]}"
fi
rc=$?
set -e
if [ $rc -eq 5 ]; then log "pytest collected no tests: failing"; exit 1; fi
exit $rc

# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run). Idempotent: each layer
# is (re)installed only when its requirement file changed (a stamp holds its sha256).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The venv lives outside the source tree: CMake refuses exported include paths (numpy's, for
# the generated messages) that point inside the package being built. .venv links to it.
if [ -z "${VP2P_VENV:-}" ] && [ "${CI:-}" = "true" ]; then
  # CI runs on a throwaway clone: a throwaway venv, so repeated runs leave nothing behind.
  V=$(mktemp -d -t vp2p-ci-venv.XXXXXX)
  trap 'rm -rf "$V"' EXIT
else
  V=${VP2P_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vp2p_ros/venv-$(printf %s "$ROOT" | sha256sum | cut -c1-12)}
fi
PY=$V/bin/python

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

_stamp_ok() {  # _stamp_ok NAME FILE...: true when FILEs are unchanged since the last install
  local name=$1 want; shift
  want=$(cat "$@" | sha256sum | cut -c1-64)
  [ -f "$V/.stamp-$name" ] && [ "$(cat "$V/.stamp-$name")" = "$want" ]
}
_stamp_set() { local n=$1; shift; cat "$@" | sha256sum | cut -c1-64 >"$V/.stamp-$n"; }

ensure_core() {
  if [ ! -x "$PY" ]; then
    log "creating virtual environment $V"
    mkdir -p "$(dirname "$V")"
    python3 -m venv "$V"
  fi
  [ "${CI:-}" = "true" ] || [ -e "$ROOT/.venv" ] || ln -s "$V" "$ROOT/.venv"
  if ! _stamp_ok core "$ROOT/requirements/core.txt" "$ROOT/setup.py"; then
    log "installing pinned core dependencies (requirements/core.txt)"
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/core.txt" 2>&1 \
      | grep -v "^WARNING: Location" || true
    "$PY" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT" 2>&1 \
      | grep -v "^WARNING: Location" || true
    "$PY" -c "import vp2p_ros, torch, cv2, numpy" || { log "core install failed"; exit 1; }
    _stamp_set core "$ROOT/requirements/core.txt" "$ROOT/setup.py"
  fi
}

ensure_ros_test() {
  ensure_core
  if ! _stamp_ok ros "$ROOT/requirements/ros-test.txt"; then
    log "installing ROS 2 test wheels (requirements/ros-test.txt)"
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/ros-test.txt" 2>&1 \
      | grep -v "^WARNING: Location" || true
    # The wheels' exported CMake targets name the wheel builder's interpreter; point them at ours.
    local pyinc npinc
    pyinc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    npinc=$("$PY" -c 'import numpy; print(numpy.get_include())')
    { grep -rl /opt/python/cp311-cp311/ "$V/share" --include='*.cmake' || true; } | xargs -r sed -i \
      -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g"
    _stamp_set ros "$ROOT/requirements/ros-test.txt"
  fi
  export AMENT_PREFIX_PATH=$V CMAKE_PREFIX_PATH=$V
  mkdir -p "$ROOT/build"
  if ! _stamp_ok shim "$ROOT"/ci/shims/tf2_msgs/{CMakeLists.txt,package.xml,msg/TFMessage.msg}; then
    log "building the CI-only tf2_msgs shim into the venv"
    cmake -S "$ROOT/ci/shims/tf2_msgs" -B "$ROOT/build/shim_tf2_msgs" -DCMAKE_INSTALL_PREFIX="$V" \
      -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF >"$ROOT/build/shim.log" 2>&1 \
      && cmake --build "$ROOT/build/shim_tf2_msgs" -j2 >>"$ROOT/build/shim.log" 2>&1 \
      && cmake --install "$ROOT/build/shim_tf2_msgs" >>"$ROOT/build/shim.log" 2>&1 \
      || { tail -30 "$ROOT/build/shim.log"; exit 1; }
    _stamp_set shim "$ROOT"/ci/shims/tf2_msgs/{CMakeLists.txt,package.xml,msg/TFMessage.msg}
  fi
  # colcon build of this package exactly as on a ROS workspace (msg generation, Python package,
  # launch/config/models, executables in lib/vp2p_ros), into build/install.
  log "colcon build of vp2p_ros (msg generation) into build/install"
  (cd "$ROOT" && PATH="$V/bin:$PATH" "$V/bin/colcon" --log-base build/log build --paths . \
      --build-base build/colcon --install-base build/install --merge-install \
      --cmake-args -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF >build/colcon.log 2>&1) \
    || { tail -40 "$ROOT/build/colcon.log"; exit 1; }
  # The generated vp2p_ros.msg lives in the install tree; vp2p_ros/__init__.py extends its
  # package path to every vp2p_ros folder on sys.path (as catkin devel spaces did).
  export VP2P_ROS_INSTALL=$ROOT/build/install
  export PYTHONPATH=$ROOT:$ROOT/build/install/lib/python3.11/site-packages${PYTHONPATH:+:$PYTHONPATH}
  export LD_LIBRARY_PATH=$ROOT/build/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
}

# run_isolated CMD...: run a command that talks DDS in a loopback-only network namespace
# (unshare -n; else only the Fast DDS profile keeps it on loopback) with a random ROS_DOMAIN_ID
# and the profile ci/fastdds_lo_large.xml: 16 MB shared-memory segments for large messages + UDP
# on 127.0.0.1. Not LARGE_DATA (UDP discovery, TCP + shared memory for data): with it some
# processes never matched (python -m benchmarks.dds_discovery).
run_isolated() {
  unset FASTDDS_BUILTIN_TRANSPORTS
  export FASTDDS_DEFAULT_PROFILES_FILE=$ROOT/ci/fastdds_lo_large.xml
  export ROS_AUTOMATIC_DISCOVERY_RANGE=SYSTEM_DEFAULT
  export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$((RANDOM % 100))}
  if unshare -n true 2>/dev/null; then
    log "running in a loopback-only network namespace (unshare -n)"
    unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$0" "$@"' "$@"
  else
    log "unshare -n not permitted: loopback-only Fast DDS profile"
    "$@"
  fi
}

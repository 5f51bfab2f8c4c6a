#!/usr/bin/env bash
# Run the main job on the embedded default (bundled real KITTI frames, no arguments needed):
# creates .venv, installs the pinned dependencies, then runs `vp2p-demo`. Idempotent.
# Extra arguments go to vp2p-demo (see `vp2p-demo --help`).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_core
exec "$V/bin/vp2p-demo" "$@"

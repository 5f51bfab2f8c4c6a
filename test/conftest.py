"""Shared fixtures: seeded RNGs, the shared real data, dtype parametrisation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = Path(os.environ.get("VP2P_SHARED_DATA", ROOT.parent / "shared" / "data" / "real"))
KITTI_RAW = SHARED_REAL / "kitti_raw_2011_09_26_sfnd"
KITTI_OBJECT = SHARED_REAL / "kitti_object_training_kitti_object_vis"
PJLAB = SHARED_REAL / "pjlab_calibanything_ours" / "3"


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared real data not found at {path}")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param

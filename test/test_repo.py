"""Repository-level checks: lint, Humble's Python, packaging rules."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    res = subprocess.run(
        [ruff, "check", "vp2p_ros", "test", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_sources_compile_on_python_3_10():
    """Humble runs Python 3.10: no 3.11-only syntax."""
    # the real binary, not pyenv's shim (which refuses versions that are not selected)
    py310 = next(iter(sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))), None)
    py310 = py310 or shutil.which("python3.10")
    if py310 is None:
        pytest.skip("no python3.10 on this machine")
    res = subprocess.run(
        [
            str(py310),
            "-c",
            "import ast, pathlib, sys\n"
            "for p in pathlib.Path('vp2p_ros').rglob('*.py'):\n"
            "    ast.parse(p.read_text(), str(p))\n",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr


def test_ros_wheels_never_in_install_requires():
    tree = ast.parse((ROOT / "setup.py").read_text())
    reqs = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and re.match(r"^[a-z]", n.value)
    ]
    assert not [r for r in reqs if r.startswith("ros-") or "rclpy" in r]
    xml = (ROOT / "package.xml").read_text()
    for dep in ("rclpy", "sensor_msgs", "geometry_msgs", "tf2_msgs", "diagnostic_msgs"):
        assert f">{dep}<" in xml


def test_core_imports_without_rclpy():
    """Every module outside vp2p_ros.ros (the adapter layer) imports with ROS absent."""
    code = (
        "import sys, pkgutil, importlib\n"
        "for m in ('rclpy', 'std_msgs', 'geometry_msgs', 'sensor_msgs', 'tf2_msgs',\n"
        "          'diagnostic_msgs', 'builtin_interfaces'):\n"
        "    sys.modules[m] = None\n"
        "import vp2p_ros\n"
        "names = [m.name for m in pkgutil.walk_packages(vp2p_ros.__path__, 'vp2p_ros.')\n"
        "         if not m.name.startswith(('vp2p_ros.ros', 'vp2p_ros.msg'))]\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        "assert 'vp2p_ros.calib.vp2p_estimator' in names and len(names) > 40, names\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_no_unsafe_torch_load():
    for p in (ROOT / "vp2p_ros").rglob("*.py"):
        for m in re.finditer(r"torch\.load\(([^)]*)\)", p.read_text()):
            assert "weights_only=True" in m.group(1), p

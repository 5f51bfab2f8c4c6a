"""launch/calibrate.launch.py with stand-in launch modules, and its pure logic."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from vp2p_ros.launch_description import ARGUMENTS, node_options

LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "calibrate.launch.py"


def test_node_options_defaults_and_overrides():
    opts = node_options({}, "/share/config/calibrate.yaml")
    assert opts["executable"] == "vp2p_calibration_node" and opts["package"] == "vp2p_ros"
    assert opts["parameters"] == ["/share/config/calibrate.yaml", {"use_sim_time": False}]
    opts = node_options(
        {
            "use_sim_time": "True",
            "checkpoint": "/w/vp2p.pth",
            "namespace": "car1",
            "params_file": "/my.yaml",
        },
        "/x.yaml",
    )
    assert opts["parameters"] == ["/my.yaml", {"use_sim_time": True, "checkpoint": "/w/vp2p.pth"}]
    assert opts["namespace"] == "car1"
    with pytest.raises(ValueError, match="unknown launch argument"):
        node_options({"param_file": "x"}, "/x.yaml")
    with pytest.raises(ValueError, match="use_sim_time"):
        node_options({"use_sim_time": "yes"}, "/x.yaml")


def fake_launch_modules(values):
    """Minimal stand-ins recording what the launch file builds."""
    rec = types.SimpleNamespace(nodes=[])
    mods = {
        name: types.ModuleType(name)
        for name in (
            "launch",
            "launch.actions",
            "launch.substitutions",
            "launch_ros",
            "launch_ros.actions",
            "ament_index_python",
            "ament_index_python.packages",
        )
    }
    mods["launch"].LaunchDescription = lambda actions: list(actions)
    mods["launch.actions"].DeclareLaunchArgument = lambda name, **kw: ("arg", name, kw)
    mods["launch.actions"].OpaqueFunction = lambda function: ("opaque", function)

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return values.get(self.name, dict((n, d) for n, d, _ in ARGUMENTS)[self.name])

    mods["launch.substitutions"].LaunchConfiguration = LaunchConfiguration
    mods["launch_ros.actions"].Node = lambda **kw: rec.nodes.append(kw) or kw
    mods["ament_index_python.packages"].get_package_share_directory = lambda pkg: f"/opt/{pkg}"
    return mods, rec


def test_launch_file_builds_the_node(monkeypatch):
    mods, rec = fake_launch_modules({"checkpoint": "/w/c.pth"})
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location("calibrate_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    actions = module.generate_launch_description()
    declared = [a[1] for a in actions if a[0] == "arg"]
    assert declared == [name for name, _, _ in ARGUMENTS]
    assert all(a[2]["description"] for a in actions if a[0] == "arg")
    opaque = next(a for a in actions if a[0] == "opaque")
    opaque[1](context=None)
    assert rec.nodes[0]["parameters"] == [
        "/opt/vp2p_ros/config/calibrate.yaml",
        {"use_sim_time": False, "checkpoint": "/w/c.pth"},
    ]

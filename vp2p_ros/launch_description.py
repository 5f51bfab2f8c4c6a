"""The logic of ``launch/calibrate.launch.py``, importable and testable without ``launch``.

The launch packages are not installable in CI, so the launch file only turns this description
into ``DeclareLaunchArgument`` / ``Node`` actions.
"""

from __future__ import annotations

__all__ = ["ARGUMENTS", "node_options"]

# (name, default, description); an empty default means "leave the parameter file's value"
ARGUMENTS = (
    ("params_file", "", "parameter YAML; empty: the installed config/calibrate.yaml"),
    ("namespace", "", "namespace of the node (topics are relative, so they follow it)"),
    ("use_sim_time", "false", "use /clock (bag replay with --clock)"),
    ("checkpoint", "", "VP2P weights; overrides the parameter file when not empty"),
    ("log_level", "info", "rclpy log level"),
)


def node_options(args: dict, default_params_file: str) -> dict:
    """Keyword arguments of ``launch_ros.actions.Node`` for resolved argument values.

    Args:
        args: argument name -> string value (as launch substitutions resolve them).
        default_params_file: the installed ``config/calibrate.yaml``.

    Raises:
        ValueError: an unknown argument or a use_sim_time that is not true / false.
    """
    known = {name for name, _, _ in ARGUMENTS}
    unknown = sorted(set(args) - known)
    if unknown:
        raise ValueError(f"unknown launch argument(s) {unknown}; valid: {sorted(known)}")
    values = {name: args.get(name, default) for name, default, _ in ARGUMENTS}
    sim = values["use_sim_time"].strip().lower()
    if sim not in ("true", "false"):
        raise ValueError(f"use_sim_time must be true or false, got {values['use_sim_time']!r}")
    overrides = {"use_sim_time": sim == "true"}
    if values["checkpoint"]:
        overrides["checkpoint"] = values["checkpoint"]
    return {
        "package": "vp2p_ros",
        "executable": "vp2p_calibration_node",
        "name": "vp2p_calibration_node",
        "namespace": values["namespace"],
        "output": "screen",
        "parameters": [values["params_file"] or default_params_file, overrides],
        "arguments": ["--ros-args", "--log-level", values["log_level"]],
    }

"""`ros2 launch vp2p_ros calibrate.launch.py [params_file:=...] [checkpoint:=...] ...`.

Thin: the arguments and the node options live in vp2p_ros.launch_description (tested in CI,
where the launch packages are not installable).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from vp2p_ros.launch_description import ARGUMENTS, node_options


def _node(context):
    args = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    share = get_package_share_directory("vp2p_ros")
    return [Node(**node_options(args, os.path.join(share, "config", "calibrate.yaml")))]


def generate_launch_description():
    declared = [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, default, description in ARGUMENTS
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_node)])

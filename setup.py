"""pip install of vp2p_ros (ROS-free core and CLIs); colcon builds the same tree."""

from setuptools import find_packages, setup

setup(
    name="vp2p_ros",
    version="0.1.0",
    description="Camera-LiDAR extrinsic calibration with VP2P-Match; ROS-free core + ROS 2 node",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["vp2p_ros", "vp2p_ros.*"]),
    package_data={"vp2p_ros": ["assets/**/*"]},
    include_package_data=True,
    # The ROS 2 runtime (rclpy, message packages) comes from the ROS installation and is never
    # listed here; see package.xml. Tests use requirements/ros-test.txt.
    install_requires=[
        "numpy>=1.21,<3",
        "scipy>=1.8",
        "opencv-python-headless>=4.5",
        "pyyaml>=5.4",
        "tqdm>=4.60",
        "safetensors>=0.4",
        "rosbags>=0.9.20",
        "torch>=1.13",
        "matplotlib>=3.5",
    ],
    extras_require={"train": ["tensorboard>=2.10"]},  # TensorBoard logs of vp2p-train
    entry_points={
        "console_scripts": [
            "vp2p-demo = vp2p_ros.cli.demo:main",
            "vp2p-calibration-node = vp2p_ros.ros.node:main",
            "vp2p-make-bag = vp2p_ros.cli.make_bag:main",
            "vp2p-calibrate-bag = vp2p_ros.cli.calibrate_bag:main",
            "vp2p-train = vp2p_ros.cli.train:main",
            "vp2p-eval = vp2p_ros.cli.evaluate:main",
            "vp2p-export-weights = vp2p_ros.cli.export_weights:main",
            "vp2p-replay-bag = vp2p_ros.ros.replay:main",
        ],
    },
)

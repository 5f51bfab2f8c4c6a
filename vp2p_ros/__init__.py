"""vp2p_ros: camera-LiDAR extrinsic calibration with VP2P-Match.

The core (everything outside ``vp2p_ros.ros``) imports without rclpy. Conventions used
throughout: ``T_a_b`` is a 4x4 rigid transform mapping points expressed in frame ``b`` into
frame ``a`` (``x_a = R x_b + t``); ``T_cam_lidar`` therefore maps LiDAR points into the camera
(optical) frame. Distances are metres, angles radians unless a name says ``_deg``.
"""

# The generated message module (vp2p_ros.msg) is installed by colcon into the install tree,
# while a checkout or an editable install holds the sources: let this package span every
# vp2p_ros folder on sys.path (the catkin devel-space convention).
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"

__all__ = ["__version__"]

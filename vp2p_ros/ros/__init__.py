"""The thin ROS 2 adapter layer: the only modules that import rclpy and message packages."""

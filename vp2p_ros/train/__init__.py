"""Training pieces (ROS-free): VP2P's losses and pair mining."""

from vp2p_ros.train.losses import Pairs, detection_loss, matching_loss, mine_pairs

__all__ = ["Pairs", "detection_loss", "matching_loss", "mine_pairs"]

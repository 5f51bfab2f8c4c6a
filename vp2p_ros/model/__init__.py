"""The VP2P triplet network in pure PyTorch (native extensions optional)."""

from vp2p_ros.model.config import PRESETS, VP2PConfig
from vp2p_ros.model.vp2p import VP2PMatchNet

__all__ = ["PRESETS", "VP2PConfig", "VP2PMatchNet"]

"""Exceptions of vp2p_ros. Every error the package raises on bad input derives from Vp2pError."""

__all__ = [
    "Vp2pError",
    "MessageConversionError",
    "MalformedMessageError",
    "UnsupportedEncodingError",
    "CameraModelError",
    "DatasetError",
    "CalibrationError",
    "CheckpointError",
]


class Vp2pError(Exception):
    """Base class of all vp2p_ros errors."""


class MessageConversionError(Vp2pError, ValueError):
    """A ROS message could not be converted to or from numpy."""


class MalformedMessageError(MessageConversionError):
    """A message's fields contradict each other (sizes, steps, offsets, non-finite values)."""


class UnsupportedEncodingError(MessageConversionError):
    """An image encoding or point-field datatype this package does not convert."""


class CameraModelError(Vp2pError, ValueError):
    """Camera intrinsics or distortion parameters that cannot describe a camera."""


class DatasetError(Vp2pError):
    """A dataset file is missing, truncated or in an unexpected format."""


class CalibrationError(Vp2pError):
    """The calibration pipeline could not produce an estimate."""


class CheckpointError(Vp2pError):
    """A model checkpoint is missing, corrupt or does not match the network."""

"""Plain-Python stand-ins shaped like the sensor_msgs messages the converters read and write.

They let the ROS-free core (CLIs, bag tools, tests) use the converters without rclpy; the ROS
adapter passes the real message classes instead. Only the fields the converters use exist.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = [
    "Time",
    "Header",
    "PointField",
    "PointCloud2",
    "Image",
    "RegionOfInterest",
    "CameraInfo",
]


@dataclasses.dataclass
class Time:
    sec: int = 0
    nanosec: int = 0


@dataclasses.dataclass
class Header:
    stamp: Time = dataclasses.field(default_factory=Time)
    frame_id: str = ""


@dataclasses.dataclass
class PointField:
    INT8, UINT8, INT16, UINT16, INT32, UINT32, FLOAT32, FLOAT64 = range(1, 9)
    name: str = ""
    offset: int = 0
    datatype: int = 0
    count: int = 1


@dataclasses.dataclass
class PointCloud2:
    header: Header = dataclasses.field(default_factory=Header)
    height: int = 0
    width: int = 0
    fields: list = dataclasses.field(default_factory=list)
    is_bigendian: bool = False
    point_step: int = 0
    row_step: int = 0
    data: Any = b""
    is_dense: bool = False


@dataclasses.dataclass
class Image:
    header: Header = dataclasses.field(default_factory=Header)
    height: int = 0
    width: int = 0
    encoding: str = ""
    is_bigendian: int = 0
    step: int = 0
    data: Any = b""


@dataclasses.dataclass
class RegionOfInterest:
    x_offset: int = 0
    y_offset: int = 0
    height: int = 0
    width: int = 0
    do_rectify: bool = False


@dataclasses.dataclass
class CameraInfo:
    header: Header = dataclasses.field(default_factory=Header)
    height: int = 0
    width: int = 0
    distortion_model: str = ""
    d: list = dataclasses.field(default_factory=list)
    k: list = dataclasses.field(default_factory=lambda: [0.0] * 9)
    r: list = dataclasses.field(default_factory=lambda: [0.0] * 9)
    p: list = dataclasses.field(default_factory=lambda: [0.0] * 12)
    binning_x: int = 0
    binning_y: int = 0
    roi: RegionOfInterest = dataclasses.field(default_factory=RegionOfInterest)

"""Malformed messages raise a specific exception with a specific message, never crash."""

import types

import numpy as np
import pytest

from test.msgconv.helpers import make_cloud, make_image
from vp2p_ros.errors import MalformedMessageError, MessageConversionError, UnsupportedEncodingError
from vp2p_ros.msgconv import array_to_image, image_to_array, image_to_rgb8, pointcloud2_to_arrays
from vp2p_ros.msgconv import types as T


def good_cloud():
    xyz = np.arange(30, dtype=np.float32).reshape(10, 3)
    return make_cloud(
        {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], "intensity": np.ones(10, np.float32)}
    )


def changed(msg, **changes):
    """``msg`` with some fields overwritten."""
    for k, v in changes.items():
        setattr(msg, k, v)
    return msg


def field(name="x", offset=0, datatype=7, count=1):
    return T.PointField(name=name, offset=offset, datatype=datatype, count=count)


def good_image(enc="rgb8"):
    return make_image(np.zeros((4, 5, 3), np.uint8), enc)


CLOUD_CASES = {
    "data_too_short": (
        dict(data=good_cloud().data[:-1]),
        MalformedMessageError,
        "expected row_step\\*height",
    ),
    "data_too_long": (
        dict(data=good_cloud().data + b"\0"),
        MalformedMessageError,
        "expected row_step\\*height",
    ),
    "empty_data_nonzero_size": (dict(data=b""), MalformedMessageError, "data has 0 bytes"),
    "row_step_small": (
        dict(row_step=good_cloud().row_step - 1),
        MalformedMessageError,
        "row_step .* smaller than width\\*point_step",
    ),
    "point_step_zero": (dict(point_step=0), MalformedMessageError, "point_step must be positive"),
    "point_step_smaller_than_fields": (
        dict(point_step=8),
        MalformedMessageError,
        "does not fit in point_step 8",
    ),
    "negative_width": (dict(width=-1), MalformedMessageError, "negative cloud size"),
    "height_too_big": (dict(height=2), MalformedMessageError, "expected row_step\\*height"),
    "no_x": (dict(fields=[field("y", 4), field("z", 8)]), MalformedMessageError, "no 'x' field"),
    "no_z": (dict(fields=[field("x", 0), field("y", 4)]), MalformedMessageError, "no 'z' field"),
    "bad_datatype": (
        dict(fields=[field("x", 0, 9), field("y", 6), field("z", 12)]),
        UnsupportedEncodingError,
        "unknown datatype 9",
    ),
    "datatype_zero": (
        dict(fields=[field("x", 0, 0), field("y", 6), field("z", 12)]),
        UnsupportedEncodingError,
        "unknown datatype 0",
    ),
    "count_zero": (
        dict(fields=[field("x", 0, 7, 0), field("y", 6), field("z", 12)]),
        MalformedMessageError,
        "count 0",
    ),
    "negative_offset": (
        dict(fields=[field("x", -4), field("y", 6), field("z", 12)]),
        MalformedMessageError,
        "does not fit in point_step",
    ),
    "field_past_end": (
        dict(fields=[field("x", 0), field("y", 6), field("z", 30)]),
        MalformedMessageError,
        "'z' .* does not fit",
    ),
    "duplicate_field": (
        dict(fields=[field("x", 0), field("x", 6), field("y", 6), field("z", 12)]),
        MalformedMessageError,
        "duplicate",
    ),
    "overlapping_fields": (
        dict(fields=[field("x", 0), field("y", 2), field("z", 12)]),
        MalformedMessageError,
        "layout is invalid",
    ),
    "data_not_bytes": (dict(data=object()), MalformedMessageError, "not a byte buffer"),
}

IMAGE_CASES = {
    "unknown_encoding": (
        dict(encoding="yuv422"),
        UnsupportedEncodingError,
        "encoding 'yuv422' is not supported",
    ),
    "empty_encoding": (dict(encoding=""), UnsupportedEncodingError, "encoding '' is not"),
    "typo_encoding": (dict(encoding="RGB8"), UnsupportedEncodingError, "'RGB8'"),
    "step_too_small": (dict(step=14), MalformedMessageError, "step 14 is smaller than"),
    "data_short": (
        dict(data=good_image().data[:-3]),
        MalformedMessageError,
        "expected step\\*height",
    ),
    "data_long": (
        dict(data=good_image().data + b"\0"),
        MalformedMessageError,
        "expected step\\*height",
    ),
    "zero_width": (dict(width=0), MalformedMessageError, "image size must be positive"),
    "zero_height": (dict(height=0), MalformedMessageError, "image size must be positive"),
    "mono16_step_short": (
        dict(encoding="mono16", step=9, data=b"\0" * 36),
        MalformedMessageError,
        "step 9 is smaller than .* = 10",
    ),
    "wrong_encoding_for_size": (
        dict(encoding="rgba8"),
        MalformedMessageError,
        "step 15 is smaller than width\\*channels\\*bytes = 20",
    ),
    "float_step_mismatch": (
        dict(encoding="32FC1", step=15),
        MalformedMessageError,
        "step 15 is smaller than width\\*channels\\*bytes = 20",
    ),
}


@pytest.mark.parametrize("name", sorted(CLOUD_CASES))
def test_malformed_cloud(name):
    changes, exc, match = CLOUD_CASES[name]
    with pytest.raises(exc, match=match):
        pointcloud2_to_arrays(changed(good_cloud(), **changes))


@pytest.mark.parametrize("name", sorted(IMAGE_CASES))
def test_malformed_image(name):
    changes, exc, match = IMAGE_CASES[name]
    with pytest.raises(exc, match=match):
        image_to_array(changed(good_image(), **changes))
    with pytest.raises(exc, match=match):
        image_to_rgb8(changed(good_image(), **changes))


@pytest.mark.parametrize(
    "arr,enc,match",
    [
        (np.zeros((4, 5), np.uint8), "rgb8", "rgb8 needs an array of shape"),
        (np.zeros((4, 5, 3), np.float32), "rgb8", "rgb8 needs dtype uint8"),
        (np.zeros((4, 5), np.uint16), "mono8", "mono8 needs dtype uint8"),
    ],
)
def test_bad_array_to_image(arr, enc, match):
    with pytest.raises(ValueError, match=match):
        array_to_image(arr, enc)


def test_unsupported_encoding_when_building():
    with pytest.raises(UnsupportedEncodingError, match="nv21"):
        array_to_image(np.zeros((4, 4), np.uint8), "nv21")


def test_all_errors_are_conversion_errors():
    for exc in (MalformedMessageError, UnsupportedEncodingError):
        assert issubclass(exc, MessageConversionError) and issubclass(exc, ValueError)


def test_case_count():
    assert len(CLOUD_CASES) + len(IMAGE_CASES) >= 29  # plus the CameraInfo cases in test/camera


def test_duck_typed_message_with_list_data():
    msg = types.SimpleNamespace(**vars(good_image()))
    msg.data = list(msg.data)
    assert image_to_array(msg).shape == (4, 5, 3)

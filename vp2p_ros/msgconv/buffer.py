"""Zero-copy view of a message's ``uint8[]`` data field."""

from __future__ import annotations

from typing import Any

import numpy as np

from vp2p_ros.errors import MalformedMessageError

__all__ = ["message_bytes"]


def message_bytes(data: Any) -> np.ndarray:
    """Return ``data`` (bytes, bytearray, array.array('B'), memoryview, list) as a uint8 array."""
    try:
        return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    except TypeError:
        try:
            return np.asarray(data, dtype=np.uint8).ravel()
        except (TypeError, ValueError) as exc:
            raise MalformedMessageError(f"data field is not a byte buffer: {exc}") from exc

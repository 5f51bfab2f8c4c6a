"""Build PointCloud2 / Image messages with arbitrary layouts for the conversion tests."""

from __future__ import annotations

import numpy as np

from vp2p_ros.msgconv import types as T

CODES = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 8}


def make_cloud(
    columns: dict,
    *,
    order=None,
    point_step=None,
    pad_row=0,
    big=False,
    height=1,
    msg_cls=T.PointCloud2,
    field_cls=T.PointField,
    is_dense=False,
):
    """columns: name -> (N,) array with a numpy dtype; laid out in ``order`` with padding."""
    order = order or list(columns)
    n = len(next(iter(columns.values())))
    offsets, off = {}, 0
    for name in order:
        offsets[name] = off
        off += columns[name].dtype.itemsize + 2  # 2 padding bytes after every field
    step = point_step or off
    e = ">" if big else "<"
    dt = np.dtype(
        {
            "names": order,
            "formats": [e + columns[k].dtype.str[1:] for k in order],
            "offsets": [offsets[k] for k in order],
            "itemsize": step,
        }
    )
    arr = np.zeros(n, dt)
    for k in order:
        arr[k] = columns[k]
    width = n // height
    rows = arr.tobytes()
    row_step = width * step + pad_row
    data = b"".join(
        rows[r * width * step : (r + 1) * width * step] + b"\xab" * pad_row for r in range(height)
    )
    msg = msg_cls()
    msg.height, msg.width = height, width
    msg.fields = [
        field_cls(name=k, offset=offsets[k], datatype=CODES[columns[k].dtype.str[1:]], count=1)
        for k in order
    ]
    msg.is_bigendian = big
    msg.point_step, msg.row_step = step, row_step
    msg.data = data
    msg.is_dense = is_dense
    return msg


def make_image(arr: np.ndarray, encoding: str, *, pad=0, big=False, msg_cls=T.Image):
    arr = np.asarray(arr)
    h, w = arr.shape[:2]
    e = ">" if big else "<"
    raw = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder(e))).reshape(h, -1).view(np.uint8)
    rows = np.concatenate([raw, np.full((h, pad), 7, np.uint8)], axis=1)
    msg = msg_cls()
    msg.height, msg.width, msg.encoding = h, w, encoding
    msg.is_bigendian = int(big)
    msg.step = rows.shape[1]
    msg.data = rows.tobytes()
    return msg

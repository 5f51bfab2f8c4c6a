import numpy as np
import pytest

from vp2p_ros.data import read_pcd
from vp2p_ros.data.pcd import lzf_decompress
from vp2p_ros.errors import DatasetError

HEADER = (
    "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity ring\nSIZE 4 4 4 4 2\n"
    "TYPE F F F F U\nCOUNT 1 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
    "POINTS {n}\nDATA {mode}\n"
)


def table(rng, n=50):
    a = np.zeros(
        n, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4"), ("ring", "<u2")]
    )
    for k in ("x", "y", "z", "intensity"):
        a[k] = rng.normal(size=n).astype(np.float32)
    a["ring"] = rng.integers(0, 64, n)
    return a


def literal_lzf(raw: bytes) -> bytes:
    """A valid LZF stream made of literal runs only (at most 32 bytes each)."""
    out = bytearray()
    for i in range(0, len(raw), 32):
        chunk = raw[i : i + 32]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out)


def test_lzf_back_reference_and_overlap():
    # "abc" then a back reference of length 7 at distance 3 (overlapping): "abcabcabca"
    stream = bytes([2]) + b"abc" + bytes([(5 << 5) | 0, 2])
    assert lzf_decompress(stream, 10) == b"abcabcabca"
    # long match (len field 7 + extra byte)
    stream = bytes([0]) + b"z" + bytes([(7 << 5), 3, 0])
    assert lzf_decompress(stream, 1 + 7 + 3 + 2) == b"z" * 13


@pytest.mark.parametrize(
    "stream,size,match",
    [
        (bytes([(1 << 5), 5]), 3, "back reference out of range"),
        (bytes([5]) + b"ab", 6, "literal overruns"),
        (bytes([1]) + b"ab", 5, "2 bytes decoded, header says 5"),
        (bytes([(7 << 5)]), 9, "truncated"),
    ],
)
def test_lzf_corrupt(stream, size, match):
    with pytest.raises(DatasetError, match=match):
        lzf_decompress(stream, size)


@pytest.mark.parametrize("mode", ["ascii", "binary", "binary_compressed"])
def test_pcd_modes(tmp_path, rng, mode):
    a = table(rng)
    head = HEADER.format(n=len(a), mode=mode).encode()
    if mode == "ascii":
        body = "\n".join(
            " ".join(
                repr(float(v)) if k != "ring" else str(int(v)) for k, v in zip(a.dtype.names, row)
            )
            for row in a
        ).encode()
    elif mode == "binary":
        body = a.tobytes()
    else:
        cols = b"".join(np.ascontiguousarray(a[k]).tobytes() for k in a.dtype.names)
        comp = literal_lzf(cols)
        body = np.array([len(comp), len(cols)], "<u4").tobytes() + comp
    (tmp_path / "c.pcd").write_bytes(head + body)
    out = read_pcd(tmp_path / "c.pcd")
    for k in a.dtype.names:
        np.testing.assert_array_equal(out[k], a[k])


def test_pcd_truncated(tmp_path, rng):
    a = table(rng)
    (tmp_path / "c.pcd").write_bytes(
        HEADER.format(n=len(a), mode="binary").encode() + a.tobytes()[:-1]
    )
    with pytest.raises(DatasetError, match="truncated binary PCD"):
        read_pcd(tmp_path / "c.pcd")
    (tmp_path / "d.pcd").write_bytes(b"VERSION 0.7\nFIELDS x\n")
    with pytest.raises(DatasetError, match="no DATA line"):
        read_pcd(tmp_path / "d.pcd")

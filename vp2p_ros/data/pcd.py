"""PCD (Point Cloud Library) reader: ascii, binary and binary_compressed (LZF), any fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vp2p_ros.errors import DatasetError

__all__ = ["read_pcd", "lzf_decompress"]

_TYPES = {
    ("F", 4): "f4",
    ("F", 8): "f8",
    ("U", 1): "u1",
    ("U", 2): "u2",
    ("U", 4): "u4",
    ("U", 8): "u8",
    ("I", 1): "i1",
    ("I", 2): "i2",
    ("I", 4): "i4",
    ("I", 8): "i8",
}


def lzf_decompress(data: bytes, out_len: int) -> bytes:
    """Decompress an LZF block (liblzf format, as PCL writes it) of known output length.

    Raises:
        DatasetError: the stream is corrupt (a back reference before the start, or sizes that
            do not add up).
    """
    out = bytearray(out_len)
    ip, op, n = 0, 0, len(data)
    try:
        while ip < n:
            ctrl = data[ip]
            ip += 1
            if ctrl < 32:  # literal run of ctrl + 1 bytes
                ln = ctrl + 1
                if op + ln > out_len or ip + ln > n:
                    raise DatasetError("corrupt LZF stream (literal overruns)")
                out[op : op + ln] = data[ip : ip + ln]
                ip += ln
                op += ln
                continue
            ln = ctrl >> 5
            if ln == 7:
                ln += data[ip]
                ip += 1
            ref = op - ((ctrl & 0x1F) << 8) - data[ip] - 1
            ip += 1
            ln += 2
            if ref < 0 or op + ln > out_len:
                raise DatasetError("corrupt LZF stream (back reference out of range)")
            if ref + ln <= op:
                out[op : op + ln] = out[ref : ref + ln]
            else:  # overlapping copy repeats the last (op - ref) bytes
                period = bytes(out[ref:op])
                out[op : op + ln] = (period * (ln // len(period) + 1))[:ln]
            op += ln
    except IndexError as exc:
        raise DatasetError("corrupt LZF stream (truncated)") from exc
    if op != out_len:
        raise DatasetError(f"corrupt LZF stream: {op} bytes decoded, header says {out_len}")
    return bytes(out)


def read_pcd(path: str | Path) -> np.ndarray:
    """Read a PCD v0.7 file into a structured array (N,) with one column per field.

    Raises:
        DatasetError: missing file, unknown field type, truncated or corrupt data.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"PCD file not found: {path}")
    raw = path.read_bytes()
    header, pos = {}, 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise DatasetError(f"{path}: PCD header has no DATA line")
        line = raw[pos:end].decode("ascii", "replace").strip()
        pos = end + 1
        if not line or line.startswith("#"):
            continue
        key, _, val = line.partition(" ")
        header[key.upper()] = val.split()
        if key.upper() == "DATA":
            break
    try:
        names = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = header["TYPE"]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(names))]
        npts = int(header["POINTS"][0])
        mode = header["DATA"][0].lower()
    except (KeyError, ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: malformed PCD header ({exc})") from exc
    if not (len(names) == len(sizes) == len(types) == len(counts)):
        raise DatasetError(f"{path}: FIELDS/SIZE/TYPE/COUNT lengths differ")
    try:
        fmts = [_TYPES[(t.upper(), s)] for t, s in zip(types, sizes)]
    except KeyError as exc:
        raise DatasetError(f"{path}: unsupported PCD field type {exc}") from exc
    descr = [
        (n if n != "_" else f"_pad{i}", "<" + f, (c,) if c > 1 else ())
        for i, (n, f, c) in enumerate(zip(names, fmts, counts))
    ]
    dtype = np.dtype(descr)
    body = raw[pos:]
    if mode == "ascii":
        vals = np.loadtxt(body.decode("ascii").splitlines(), dtype=np.float64, ndmin=2)
        out = np.zeros(len(vals), dtype)
        col = 0
        for name, _, shape in descr:
            c = shape[0] if shape else 1
            out[name] = vals[:, col : col + c].reshape(out[name].shape)
            col += c
        return out
    if mode == "binary":
        if len(body) < npts * dtype.itemsize:
            raise DatasetError(f"{path}: truncated binary PCD ({len(body)} bytes for {npts} pts)")
        return np.frombuffer(body[: npts * dtype.itemsize], dtype=dtype).copy()
    if mode == "binary_compressed":
        if len(body) < 8:
            raise DatasetError(f"{path}: truncated binary_compressed PCD")
        csize, usize = np.frombuffer(body[:8], "<u4")
        if usize != npts * dtype.itemsize or len(body) < 8 + csize:
            raise DatasetError(f"{path}: binary_compressed sizes do not match the header")
        buf = lzf_decompress(body[8 : 8 + int(csize)], int(usize))
        out = np.zeros(npts, dtype)
        off = 0  # the uncompressed block stores each field contiguously (column-major)
        for name, fmt, shape in descr:
            ft = np.dtype((fmt, shape)) if shape else np.dtype(fmt)
            out[name] = np.frombuffer(buf, dtype=ft, count=npts, offset=off)
            off += ft.itemsize * npts
        return out
    raise DatasetError(f"{path}: unknown PCD DATA mode {mode!r}")

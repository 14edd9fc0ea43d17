"""Minimal safetensors reader/writer (pure Python + numpy; torch optional).

Format: 8-byte little-endian u64 header length N, N bytes of JSON header
  {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
   "__metadata__": {str: str}}
padded with spaces to a multiple of 8, then the raw little-endian tensor data.
Tensors are sorted by name and their data regions are contiguous.

Supported dtypes: F32, F64, I32, I64.

    save(path, {"w": array}, {"key": "value"})
    tensors, metadata = load(path)
"""

import json
import os
import struct

import numpy as np

_DTYPES = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
}


def _dtype_name(dt):
    dt = np.dtype(dt)
    for name, ref in _DTYPES.items():
        if dt.kind == ref.kind and dt.itemsize == ref.itemsize:
            return name
    raise ValueError(f"unsupported dtype {dt} (supported: F32, F64, I32, I64)")


def _to_numpy(value):
    if isinstance(value, np.ndarray):
        return value
    # torch tensor (optional dependency)
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().contiguous().numpy()
    return np.asarray(value)


def serialize(tensors, metadata=None):
    """Return the bytes of a safetensors file."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot be a tensor name")
        arr = _to_numpy(tensors[name])
        dname = _dtype_name(arr.dtype)
        data = np.ascontiguousarray(arr, dtype=_DTYPES[dname]).tobytes(order="C")
        header[name] = {
            "dtype": dname,
            "shape": [int(d) for d in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if metadata:
        md = {}
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("metadata keys and values must be strings")
            md[k] = v
        header["__metadata__"] = md
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Write tensors (dict name -> numpy array or torch tensor) and optional str->str metadata."""
    blob = serialize(tensors, metadata)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def deserialize(blob, source="<bytes>"):
    if len(blob) < 8:
        raise ValueError(f"{source}: file too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{source}: header length {n} exceeds file size {len(blob)}")
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{source}: header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n :]
    tensors = {}
    for name, info in header.items():
        dname = info["dtype"]
        if dname not in _DTYPES:
            raise ValueError(f"{source}: tensor '{name}': unsupported dtype {dname}")
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        dt = _DTYPES[dname]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end < begin or end > len(data) or (end - begin) != count * dt.itemsize:
            raise ValueError(f"{source}: tensor '{name}': bad data_offsets {begin},{end}")
        arr = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
        tensors[name] = arr
    return tensors, dict(metadata)


def load(path):
    """Return (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    return deserialize(blob, path)


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        t, m = load(p)
        print(p)
        for k, v in sorted(t.items()):
            print(f"  {k}: {v.dtype} {list(v.shape)}")
        for k, v in sorted(m.items()):
            print(f"  __metadata__[{k}] = {v}")

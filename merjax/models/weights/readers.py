"""Weight files -> a flat {name: numpy array} (a PyTorch-style state_dict).

Formats, chosen by the file's extension (and, for .pth/.pt/.bin/.ckpt, by its content):
- PyTorch `torch.save` files in both formats: the zip archive (torch >= 1.6) and the legacy
  pre-zip pickle stream (`_use_new_zipfile_serialization=False`; STSTNet's released weights).
  With torch installed they are read by `torch.load(..., weights_only=True)`; without it by
  `restricted_load`, an unpickler that builds only tensors, storages and ordered dicts.
  Neither runs code from the file: any other pickled object (a `__reduce__` that would
  call a function, a whole pickled nn.Module) is refused with a one-line MerjaxError;
- `.safetensors` (the safetensors package's numpy API, else a small header parser);
- `.npz` (`allow_pickle=False`), the merjax format of converted weights.

A checkpoint that nests its state_dict (`{"state_dict": ...}`, `{"model": ...}`,
`{"module": ...}`) or prefixes every name with `module.` (DataParallel) is unwrapped
(`unwrap_state_dict`). bfloat16 tensors come back as float32.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import struct
import zipfile
from typing import Any
from collections.abc import Mapping

import numpy as np

from merjax.errors import MerjaxError

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar")
SAFETENSORS_SUFFIXES = (".safetensors",)
NPZ_SUFFIXES = (".npz",)
# Keys under which training scripts nest the state_dict, tried in this order.
NESTED_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "network")
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def _bfloat16():
  import ml_dtypes  # pylint: disable=import-outside-toplevel  (a jax dependency)
  return np.dtype(ml_dtypes.bfloat16)


# torch storage class name -> numpy dtype (name strings; bfloat16 through ml_dtypes).
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8",
}


def _np_dtype(name: str) -> np.dtype:
  return _bfloat16() if name == "bfloat16" else np.dtype(name)


class _StorageType:
  """Stands for `torch.<X>Storage` in a pickle: only its element dtype is kept."""

  def __init__(self, name: str):
    self.name = name
    self.dtype = _np_dtype(_STORAGE_DTYPES[name])


class _Storage:
  """A storage read from the file: a flat numpy array of its elements."""

  def __init__(self, dtype: np.dtype, data: np.ndarray | None = None):
    self.dtype = dtype
    self.data = data


def _rebuild_tensor(storage: _Storage, offset: int, size, stride, *_unused) -> np.ndarray:
  """torch._utils._rebuild_tensor_v2: the strided view of `storage` (copied)."""
  if storage.data is None:
    raise MerjaxError("tensor refers to a storage that the file does not hold")
  size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
  offset = int(offset)
  if (len(size) != len(stride) or offset < 0 or any(s < 0 for s in stride)
      or any(n < 0 for n in size)):
    raise MerjaxError(f"tensor with invalid size {size}, stride {stride} or offset {offset}")
  flat = storage.data
  if not size:
    return np.array(flat[offset])
  needed = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
  if min(size) > 0 and needed > flat.size:
    raise MerjaxError(f"tensor of size {size} runs past its storage of {flat.size} elements")
  item = flat.itemsize
  view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                         strides=tuple(s * item for s in stride))
  return np.array(view)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *_unused):
  """torch._utils._rebuild_parameter: an nn.Parameter is its data here."""
  return data


# The only globals a restricted load builds (module, name) -> factory.
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
  """Builds dicts, lists, tuples, numbers, strings, tensors and storages; any other
  global (a function a `__reduce__` would call, a pickled class) raises MerjaxError."""

  def __init__(self, f, path: str, storage_of, lazy: bool = False):
    super().__init__(f)
    self._path = path
    self._storage_of = storage_of
    self._lazy = lazy          # legacy stream: storage bytes come after the object

  def find_class(self, module: str, name: str):
    if (module, name) in _ALLOWED:
      factory = _ALLOWED[module, name]
      if self._lazy and factory is _rebuild_tensor:
        return lambda *args: _PendingTensor(args)
      return factory
    if module == "torch" and name in _STORAGE_DTYPES:
      return _StorageType(name)
    if module == "torch" and name == "Size":
      return tuple
    hint = ("; the file pickles a whole module: save model.state_dict() instead"
            if module.startswith(("torch.nn", "__main__")) or "Module" in name else "")
    raise MerjaxError(f"{self._path}: refused to unpickle {module}.{name} (a weights file may "
                      f"hold only tensors, storages and ordered dicts{hint})")

  def persistent_load(self, pid):
    if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
      raise MerjaxError(f"{self._path}: unknown persistent id {str(pid)[:60]!r}")
    return self._storage_of(pid[1:])


def _storage_dtype(storage_type) -> np.dtype:
  if isinstance(storage_type, _StorageType):
    return storage_type.dtype
  raise MerjaxError(f"storage of unknown type {storage_type!r}")


def _load_zip(path: str) -> Any:
  """A zip-format torch.save archive: `<name>/data.pkl` + one file per storage."""
  with zipfile.ZipFile(path) as z:
    names = z.namelist()
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if not pkl:
      what = " (a TorchScript archive: save model.state_dict() instead)" if any(
          n.endswith("constants.pkl") for n in names) else ""
      raise MerjaxError(f"{path}: zip file without data.pkl, not a torch.save file{what}")
    prefix = pkl[0][: -len("data.pkl")]
    order = "little"
    if prefix + "byteorder" in names:
      order = z.read(prefix + "byteorder").decode().strip()
    storages: dict[str, _Storage] = {}

    def storage_of(fields):
      storage_type, key, _location, numel = fields[:4]
      key = key.decode() if isinstance(key, bytes) else str(key)
      if key not in storages:
        dtype = _storage_dtype(storage_type)
        entry = f"{prefix}data/{key}"
        if entry not in names:
          raise MerjaxError(f"{path}: storage {key} missing from the archive")
        raw = z.read(entry)
        dt = dtype.newbyteorder("<" if order == "little" else ">") if dtype.itemsize > 1 else dtype
        data = np.frombuffer(raw, dt, count=len(raw) // dtype.itemsize).astype(dtype)
        if data.size < int(numel):
          raise MerjaxError(f"{path}: storage {key} holds {data.size} of {numel} elements")
        storages[key] = _Storage(dtype, data)
      return storages[key]

    with z.open(pkl[0]) as f:
      return _RestrictedUnpickler(io.BytesIO(f.read()), path, storage_of).load()


def _load_legacy(path: str) -> Any:
  """A legacy torch.save stream: magic, protocol, sys info, the object (storages as
  persistent ids), the list of storage keys, then each storage as int64 numel + bytes."""
  with open(path, "rb") as f:
    plain = lambda: _RestrictedUnpickler(f, path, _no_storage(path)).load()
    try:
      magic = plain()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
      raise MerjaxError(f"{path}: not a torch.save file ({type(e).__name__}: {e})") from None
    if magic != LEGACY_MAGIC:
      raise MerjaxError(f"{path}: not a torch.save file (no zip archive, no legacy magic number)")
    protocol = plain()
    if protocol != LEGACY_PROTOCOL:
      raise MerjaxError(f"{path}: legacy torch.save protocol {protocol!r}, expected 1001")
    info = plain()
    little = not isinstance(info, Mapping) or info.get("little_endian", True)
    storages: dict[str, _Storage] = {}
    views: list = []

    def storage_of(fields):
      storage_type, key, _location, _numel, view = (tuple(fields) + (None,))[:5]
      key = str(key)
      if key not in storages:
        storages[key] = _Storage(_storage_dtype(storage_type))
      if view is not None:
        view_key, offset, size = view
        views.append((str(view_key), key, int(offset), int(size)))
        if str(view_key) not in storages:
          storages[str(view_key)] = _Storage(storages[key].dtype)
        return storages[str(view_key)]
      return storages[key]

    result = _RestrictedUnpickler(f, path, storage_of, lazy=True).load()
    keys = plain()
    for key in keys:
      key = str(key)
      if key not in storages:
        raise MerjaxError(f"{path}: storage {key} listed but never used")
      storage = storages[key]
      header = f.read(8)
      if len(header) < 8:
        raise MerjaxError(f"{path}: truncated before storage {key}")
      numel = struct.unpack("<q" if little else ">q", header)[0]
      nbytes = numel * storage.dtype.itemsize
      raw = f.read(nbytes)
      if len(raw) < nbytes:
        raise MerjaxError(f"{path}: truncated inside storage {key}")
      dt = storage.dtype
      if dt.itemsize > 1:
        dt = dt.newbyteorder("<" if little else ">")
      storage.data = np.frombuffer(raw, dt).astype(storage.dtype)
    for view_key, key, offset, size in views:
      storages[view_key].data = storages[key].data[offset:offset + size]
    return _resolve(result)


def _no_storage(path):
  def refuse(_fields):
    raise MerjaxError(f"{path}: a storage outside the object pickle")
  return refuse


class _PendingTensor:
  """A legacy-format tensor whose storage bytes follow the object pickle."""

  def __init__(self, args):
    self.args = args


def _resolve(obj):
  """`obj` with every pending legacy tensor built from its (now read) storage."""
  if isinstance(obj, _PendingTensor):
    return _rebuild_tensor(*obj.args)
  if isinstance(obj, dict):
    return {k: _resolve(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return type(obj)(_resolve(v) for v in obj)
  return obj


def restricted_load(path: str) -> Any:
  """The object a torch.save file holds, without torch and without running its code:
  tensors as numpy arrays, ordered dicts as dicts. MerjaxError naming the file for any
  other pickled global or a malformed stream."""
  try:
    if zipfile.is_zipfile(path):
      return _load_zip(path)
    return _load_legacy(path)
  except MerjaxError as e:
    message = str(e)
    raise MerjaxError(message if message.startswith(path) else f"{path}: {message}") from None
  except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError,
          KeyError, struct.error, zipfile.BadZipFile) as e:
    raise MerjaxError(f"{path}: not a readable torch.save file ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''})") from None


def _torch_load(path: str) -> Any:
  """torch.load(weights_only=True), tensors as numpy; a refusal as one MerjaxError line."""
  import torch  # pylint: disable=import-outside-toplevel
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except pickle.UnpicklingError as e:
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    why = next((l for l in lines if "GLOBAL" in l or "Unsupported" in l), lines[0] if lines else "")
    raise MerjaxError(f"{path}: torch.load(weights_only=True) refused the file: {why}") from None
  except RuntimeError as e:
    raise MerjaxError(f"{path}: not a readable torch.save file ({str(e).splitlines()[0]})") from None

  def to_numpy(x):
    if isinstance(x, torch.Tensor):
      x = x.detach().cpu()
      if x.dtype == torch.bfloat16:
        x = x.float()
      return x.numpy().copy()
    if isinstance(x, Mapping):
      return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
      return type(x)(to_numpy(v) for v in x)
    return x
  return to_numpy(obj)


def have_torch() -> bool:
  try:
    import torch  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return False
  return True


def load_torch_file(path: str, use_torch: bool | None = None) -> Any:
  """The object in a torch.save file (tensors as numpy): torch.load(weights_only=True)
  when torch is installed (or `use_torch`), else `restricted_load`."""
  if use_torch is None:
    use_torch = have_torch()
  if use_torch:
    return _torch_load(path)
  return restricted_load(path)


_SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                       "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
                       "U8": "uint8", "BOOL": "bool"}


def read_safetensors(path: str) -> dict[str, np.ndarray]:
  """A .safetensors file: 8-byte little-endian header length, JSON header of
  {name: {dtype, shape, data_offsets}}, then the data (no code, no pickle)."""
  with open(path, "rb") as f:
    raw = f.read()
  if len(raw) < 8:
    raise MerjaxError(f"{path}: too short for a safetensors file")
  n = struct.unpack("<Q", raw[:8])[0]
  try:
    header = json.loads(raw[8:8 + n])
  except (ValueError, UnicodeDecodeError):
    raise MerjaxError(f"{path}: safetensors header is not JSON") from None
  base = 8 + n
  out = {}
  for name, info in header.items():
    if name == "__metadata__":
      continue
    if info.get("dtype") not in _SAFETENSORS_DTYPES:
      raise MerjaxError(f"{path}: tensor {name} has unsupported dtype {info.get('dtype')!r}")
    dtype = _np_dtype(_SAFETENSORS_DTYPES[info["dtype"]])
    start, end = info["data_offsets"]
    shape = tuple(info["shape"])
    if end > len(raw) - base or (end - start) != int(np.prod(shape)) * dtype.itemsize:
      raise MerjaxError(f"{path}: tensor {name} has inconsistent offsets")
    le = dtype.newbyteorder("<") if dtype.itemsize > 1 else dtype
    out[name] = np.frombuffer(raw[base + start:base + end], le).astype(dtype).reshape(shape)
  return out


def _read_safetensors_file(path: str) -> dict[str, np.ndarray]:
  try:
    from safetensors.numpy import load_file  # pylint: disable=import-outside-toplevel
  except ImportError:
    return read_safetensors(path)
  try:
    return dict(load_file(path))
  except Exception:  # noqa: BLE001  bf16, or a file the package rejects: parse it ourselves
    return read_safetensors(path)


def _read_npz(path: str) -> dict[str, np.ndarray]:
  try:
    with np.load(path, allow_pickle=False) as z:
      return {k: z[k] for k in z.files}
  except ValueError as e:
    raise MerjaxError(f"{path}: not a plain .npz of arrays ({e})") from None


def unwrap_state_dict(obj: Any, path: str = "weights") -> dict[str, np.ndarray]:
  """The flat {name: array} inside a loaded checkpoint: a nested `state_dict` / `model` /
  `module` entry is followed, nested dicts are joined with '.', a `module.` prefix on every
  name (DataParallel) is removed, non-array entries beside the arrays are dropped."""
  node = obj
  for _ in range(4):
    if not isinstance(node, Mapping):
      break
    arrays = [k for k, v in node.items() if isinstance(v, np.ndarray)]
    nested = next((k for k in NESTED_KEYS if isinstance(node.get(k), Mapping)), None)
    if nested is None or (arrays and len(arrays) >= len(node) // 2):
      break
    node = node[nested]
  if not isinstance(node, Mapping):
    raise MerjaxError(f"{path}: holds a {type(node).__name__}, not a state_dict")
  flat: dict[str, np.ndarray] = {}

  def walk(prefix, d):
    for k, v in d.items():
      name = f"{prefix}{k}"
      if isinstance(v, np.ndarray):
        flat[name] = v
      elif isinstance(v, Mapping):
        walk(name + ".", v)
  walk("", node)
  if not flat:
    raise MerjaxError(f"{path}: no tensors found (keys: {', '.join(map(str, list(node)[:8]))})")
  if all(k.startswith("module.") for k in flat):
    flat = {k[len("module."):]: v for k, v in flat.items()}
  bf16 = _bfloat16()
  return {k: (v.astype(np.float32) if v.dtype == bf16 else v) for k, v in flat.items()}


def read_weights(path: str, use_torch: bool | None = None) -> dict[str, np.ndarray]:
  """The flat state_dict {name: numpy array} of a weights file (.pth/.pt/.bin/.ckpt,
  .safetensors or .npz). MerjaxError naming the file when it is missing, unreadable or
  holds anything but arrays."""
  if not os.path.isfile(path):
    raise MerjaxError(f"{path}: weights file not found")
  lower = path.lower()
  if lower.endswith(SAFETENSORS_SUFFIXES):
    return unwrap_state_dict(_read_safetensors_file(path), path)
  if lower.endswith(NPZ_SUFFIXES):
    return unwrap_state_dict(_read_npz(path), path)
  if lower.endswith(TORCH_SUFFIXES) or zipfile.is_zipfile(path):
    return unwrap_state_dict(load_torch_file(path, use_torch), path)
  with open(path, "rb") as f:
    head = f.read(2)
  if head[:1] == b"\x80":          # a pickle stream: the legacy torch format
    return unwrap_state_dict(load_torch_file(path, use_torch), path)
  raise MerjaxError(f"{path}: unknown weights format (use .pth/.pt, .safetensors or .npz)")

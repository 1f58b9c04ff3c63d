"""Whole-model weights: a file -> a model's variables, and a model's variables -> a
torch-compatible state_dict (.safetensors) or merjax's own .npz."""

from __future__ import annotations

import json
import os
import struct
from typing import Any
from collections.abc import Mapping

import jax
import numpy as np
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.weights import converters, mapping, readers


def _format(model: nn.Module, fmt: str | None) -> str:
  from merjax.models.weights.pretrained import default_format  # pylint: disable=import-outside-toplevel
  return fmt or default_format(model)


def load_variables(model: nn.Module, weights, sample: Mapping[str, Any], fmt: str | None = None,
                   *, strict: bool = True, key: int = 0,
                   what: str = "weights") -> tuple[dict, mapping.Report]:
  """(variables, report): every variable of `model` from `weights` (a file path or a flat
  state_dict) in format `fmt` (default: the model's own). `sample`: a batch {role: array}
  fixing the input shapes. strict=False: leaves the file lacks or whose shape differs (a head
  of another class count) are freshly initialised (`model.init` with PRNG key `key`) and
  listed in report.skipped."""
  state = readers.read_weights(weights) if isinstance(weights, str) else dict(weights)
  if isinstance(weights, str):
    what = weights
  init = lambda: model.init({"params": jax.random.key(key), "dropout": jax.random.key(key)},
                            sample, train=False)
  target = init() if not strict else jax.eval_shape(init)
  converter = converters.model_converter(model, _format(model, fmt))
  variables, report = mapping.convert(state, target, converter, strict=strict, what=what)
  return jax.tree.map(np.asarray, variables), report


def export_state_dict(model: nn.Module, variables: Mapping, fmt: str | None = None,
                      like: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
  """The torch state_dict of `variables` ({name: array}, torch names and layouts of format
  `fmt`; "merjax": merjax's own names). `like`: {name: shape} of the target torch module."""
  fmt = _format(model, fmt)
  if fmt == "merjax":
    return converters.merjax_names(variables)
  return mapping.export(variables, converters.model_converter(model, fmt), like)


_ST_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
              "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
              "bool": "BOOL"}


def save_safetensors(state: Mapping[str, np.ndarray], path: str,
                     metadata: Mapping[str, str] | None = None) -> None:
  """Writes {name: array} as a .safetensors file (little-endian, names sorted), atomically."""
  header: dict[str, Any] = {}
  if metadata:
    header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
  blobs, offset = [], 0
  for name in sorted(state):
    a = np.ascontiguousarray(np.asarray(state[name]))
    if a.dtype.name not in _ST_DTYPES:
      raise MerjaxError(f"{path}: tensor {name} has dtype {a.dtype}, not storable")
    raw = a.astype(a.dtype.newbyteorder("<")).tobytes() if a.dtype.itemsize > 1 else a.tobytes()
    header[name] = {"dtype": _ST_DTYPES[a.dtype.name], "shape": list(a.shape),
                    "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
  text = json.dumps(header, separators=(",", ":")).encode()
  text += b" " * (-len(text) % 8)
  tmp = path + ".tmp"
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for raw in blobs:
      f.write(raw)
  os.replace(tmp, path)


def save_npz(variables: Mapping, path: str) -> None:
  """Writes flax variables as merjax's own .npz ('params/backbone/conv1/kernel', flax
  layouts), readable with model.pretrained_format=merjax."""
  tmp = path + ".tmp.npz"
  np.savez(tmp, **converters.merjax_names(variables))
  os.replace(tmp, path)


def export_run(workdir: str, out_dir: str, fmt: str | None = None) -> list[str]:
  """Writes every saved fold model of a finished run as `<out_dir>/<fold>_seed<S>.safetensors`
  (torch names of format `fmt`, default the model's own; fold names with '/' as '_'), the
  variables it predicts with (the selection rule's). Returns the paths written."""
  from merjax import predict, rundir  # pylint: disable=import-outside-toplevel
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel
  config = rundir.read_json(os.path.join(workdir, rundir.CONFIG), "run config")
  class_names = rundir.class_names_of(os.path.join(workdir, rundir.PREDICTIONS))
  model = build_model(config["model"], len(class_names))
  rule = config["train"]["selection"]["rule"]
  paths = []
  for record, state in predict.trained_members(workdir):
    variables = jax.tree.map(np.asarray, predict.selected_variables(state, rule))
    sd = export_state_dict(model, variables, fmt)
    name = f"{str(record['fold']).replace('/', '_')}_seed{record['seed']}.safetensors"
    path = os.path.join(out_dir, name)
    save_safetensors(sd, path, {"merjax_model": config["model"]["name"],
                                "fold": str(record["fold"]), "seed": str(record["seed"]),
                                "classes": ",".join(class_names)})
    paths.append(path)
  if not paths:
    raise MerjaxError(f"{workdir}: no saved fold model (train.save_final=false?)")
  return paths


def convert_file(arch: str, src: str, dst: str, num_classes: int, fmt: str | None = None,
                 overrides=(), strict: bool = True) -> tuple[dict, mapping.Report]:
  """Converts the checkpoint `src` (torch .pth/.pt/.bin/.ckpt, .safetensors or .npz in
  format `fmt`, default the model's own) into merjax's own names, written to `dst`
  (.npz or .safetensors; both readable with model.pretrained_format=merjax). The model is
  `arch`'s config (merjax/configs; `overrides` are dotted key=value strings) with
  `num_classes` classes; its input shapes come from that config. Returns (variables,
  report)."""
  from merjax import config as config_lib  # pylint: disable=import-outside-toplevel
  from merjax.models import inputs as model_inputs  # pylint: disable=import-outside-toplevel
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel
  if not dst.endswith((".npz", ".safetensors")):
    raise MerjaxError(f"{dst}: the output must end in .npz or .safetensors")
  config = config_lib.resolve(arch, "synthetic", list(overrides))
  model = build_model(config["model"], num_classes)
  sample = {role: np.zeros(shape, np.float32)
            for role, shape in model_inputs.batch_shapes(config).items()}
  variables, report = load_variables(model, src, sample, fmt, strict=strict)
  if dst.endswith(".npz"):
    save_npz(variables, dst)
  else:
    save_safetensors(converters.merjax_names(variables), dst,
                     {"merjax_model": config["model"]["name"], "source": os.path.basename(src)})
  return variables, report

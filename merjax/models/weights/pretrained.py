"""`model.pretrained=PATH` / `model.pretrained_format=...`: a model's backbone initialised
from a weights file, its head fresh (docs/weights.md).

The config keys are not module fields (merjax/models/registry.py `INIT_KEYS`):
- `model.pretrained`: a weights file (.pth/.pt, .safetensors, .npz; readers.read_weights);
- `model.pretrained_format`: torchvision | timm | reference | merjax (default: the model's
  own, `default_format`);
- `model.pretrained_sha256`: the file's sha256, written into the run's config by
  `record_sha256` (and checked against the file when the config already holds one);
- `model.pretrained_parts`: backbone (default: the head stays fresh) | all (the whole model,
  head included: a full checkpoint of the same class count);
- `model.init`: flax (default) | torch (PyTorch's default initialisers, `torch_init`).

`overlay(model, pretrained, variables)` is what the trainer calls inside a member's init:
the variables with every backbone leaf replaced by the file's (every fold and seed alike).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.weights import converters, mapping, readers

logger = logging.getLogger(__name__)

INIT_CHOICES = ("flax", "torch")
PARTS = ("backbone", "all")
# Parts a pretrained file initialises: the backbone (a head stays fresh) or, for models
# without that split (STSTNet, OFF-ApexNet), the whole model.
PRETRAINED_ROLES = ("backbone", "model")


def file_sha256(path: str) -> str:
  """The hex sha256 of a file's bytes."""
  h = hashlib.sha256()
  try:
    with open(path, "rb") as f:
      for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
  except FileNotFoundError:
    raise MerjaxError(f"model.pretrained: {path}: weights file not found") from None
  return h.hexdigest()


def default_format(model: nn.Module) -> str:
  """The weights format a model reads by default: timm for MobileViT, the reference code's
  layout for STSTNet / OFF-ApexNet / the FDP release, torchvision otherwise."""
  from merjax.models import dianet, fdp_release, off_apexnet, ststnet  # pylint: disable=import-outside-toplevel
  from merjax.models.backbones import common, mobilevit  # pylint: disable=import-outside-toplevel
  if isinstance(model, (ststnet.STSTNet, off_apexnet.OffApexNet, fdp_release.FDPRelease)):
    return "reference"
  if isinstance(model, common.Classifier) and isinstance(model.backbone, mobilevit.MobileViT):
    return "timm"
  if isinstance(model, dianet.DIANet) and model.backbone == "mobilevit_s":
    return "timm"
  return "torchvision"


def check(model_cfg: Mapping[str, Any], model: nn.Module | None = None) -> None:
  """MerjaxError for a bad `model.pretrained*` / `model.init` value (the file must exist
  and the model must have a converter for the format)."""
  init = model_cfg.get("init", "flax")
  if init not in INIT_CHOICES:
    raise MerjaxError(f"model.init: {init!r} is not one of {', '.join(INIT_CHOICES)}")
  path = model_cfg.get("pretrained")
  fmt = model_cfg.get("pretrained_format")
  parts = model_cfg.get("pretrained_parts", "backbone")
  if parts not in PARTS:
    raise MerjaxError(f"model.pretrained_parts: {parts!r} is not one of {', '.join(PARTS)}")
  if fmt is not None and fmt not in converters.FORMATS:
    raise MerjaxError(f"model.pretrained_format: {fmt!r} is not one of "
                      f"{', '.join(converters.FORMATS)}")
  if path is None:
    return
  if not isinstance(path, str) or not path:
    raise MerjaxError(f"model.pretrained: {path!r} is not a file path")
  if not os.path.isfile(path):
    raise MerjaxError(f"model.pretrained: {path}: weights file not found")
  if model is not None:
    converters.model_converter(model, fmt or default_format(model))


def record_sha256(config: dict) -> dict:
  """Sets `model.pretrained_sha256` to the sha256 of `model.pretrained` (in place, and
  returns the config); MerjaxError when the config already names a different one (the
  file changed since the run it belongs to)."""
  model_cfg = config["model"]
  path = model_cfg.get("pretrained")
  if not path:
    return config
  digest = file_sha256(path)
  given = model_cfg.get("pretrained_sha256")
  if given and given != digest:
    raise MerjaxError(f"model.pretrained_sha256: {path} has sha256 {digest}, the config says "
                      f"{given} (the file changed)")
  model_cfg["pretrained_sha256"] = digest
  return config


def spec_of(model_cfg: Mapping[str, Any]) -> tuple | None:
  """(path, format or None, sha256 or None, parts) of a model config's pretrained file,
  or None."""
  path = model_cfg.get("pretrained")
  if not path:
    return None
  return (path, model_cfg.get("pretrained_format"), model_cfg.get("pretrained_sha256"),
          model_cfg.get("pretrained_parts", "backbone"))


@functools.lru_cache(maxsize=4)
def _read(path: str, sha256: str | None, _mtime: float) -> dict[str, np.ndarray]:
  if sha256 and file_sha256(path) != sha256:
    raise MerjaxError(f"model.pretrained_sha256: {path} no longer has sha256 {sha256}")
  return readers.read_weights(path)


def read(path: str, sha256: str | None = None) -> dict[str, np.ndarray]:
  """The file's state_dict (cached while the file is unchanged)."""
  try:
    mtime = os.path.getmtime(path)
  except OSError:
    raise MerjaxError(f"model.pretrained: {path}: weights file not found") from None
  return _read(path, sha256, mtime)


def overlay(model: nn.Module, spec, variables: Mapping, log=logger.info) -> dict:
  """`variables` (a freshly initialised member's, arrays or tracers) with the pretrained
  file's backbone leaves in place (strict over the backbone; head and other new layers
  keep their initialisation), or with parts "all" every leaf the converter names.
  spec: `spec_of(model_cfg)`, (path, format, sha256[, parts])."""
  path, fmt, sha256 = spec[:3]
  parts = spec[3] if len(spec) > 3 else "backbone"
  fmt = fmt or default_format(model)
  state = read(path, sha256)
  converter = converters.model_converter(model, fmt)
  out, report = mapping.convert(state, variables, converter,
                                roles=None if parts == "all" else PRETRAINED_ROLES,
                                what=f"model.pretrained {path} ({fmt})")
  if not report.loaded:
    raise MerjaxError(f"model.pretrained: {path} ({fmt}): no tensor of the file fits "
                      f"{type(model).__name__}")
  log(f"model.pretrained {os.path.basename(path)} ({fmt}): {report.summary()}")
  return jax.tree.map(jnp.asarray, out)


def backbone_paths(model: nn.Module, variables: Mapping, fmt: str | None = None) -> list:
  """The flat paths of `variables` that model.pretrained initialises."""
  converter = converters.model_converter(model, fmt or default_format(model))
  leaves = converter.leaves(mapping.flatten(variables), PRETRAINED_ROLES)
  return [p for p, (_part, leaf) in leaves.items() if leaf is not None]


# ----------------------------------------------------------------------------- torch init

def torch_init(params: Mapping, key: jax.Array) -> dict:
  """`params` redrawn with PyTorch's default initialisers (nn.Conv*d / nn.Linear
  reset_parameters: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), i.e.
  kaiming_uniform(a=sqrt(5)); fan_in = prod(kernel shape[:-1]) = in/groups x kh x kw).
  Norm scales stay 1 and biases without a kernel 0; other leaves (layer scale, tokens) keep
  their values."""
  flat = mapping.flatten(params)
  out = dict(flat)
  keys = jax.random.split(key, max(len(flat), 1))
  for i, (path, x) in enumerate(sorted(flat.items())):
    module, leaf = path[:-1], path[-1]
    kernel = flat.get(module + ("kernel",))
    if kernel is None or leaf not in ("kernel", "bias"):
      continue
    fan_in = int(np.prod(kernel.shape[:-1]))
    bound = 1.0 / np.sqrt(max(fan_in, 1))
    out[path] = jax.random.uniform(keys[i], x.shape, x.dtype, -bound, bound)
  return mapping.unflatten(out)

"""Models by `--model` name, and the one path that builds them: `build_model`.

A registered model is a Flax Linen module class whose dataclass fields (less `num_classes`)
are exactly the keys a config may set under `model.*`, or a registered backbone
(merjax/models/backbones: the trunk's fields plus the classifier head's `dropout`,
`return_feature_map`, `dtype`). Field names shared across models: `dropout` (the model's
dropout rate), `drop_path` (stochastic depth), `dtype` (compute dtype name).

Besides the module's fields, every model accepts the initialisation keys `INIT_KEYS`
(`pretrained`, `pretrained_format`, `pretrained_sha256`, `pretrained_parts`, `init`;
merjax/models/weights/pretrained.py, docs/weights.md), which the trainer reads and the module
never sees.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import numbers
from typing import Any
from collections.abc import Mapping

from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models import backbones
from merjax.models.layers import resolve_dtype

# name -> "module:Class"; imported lazily so one model's dependencies never slow down
# another's start. Registered backbones are added below from backbones.BACKBONES.
MODELS: dict[str, str] = {
    "ststnet": "merjax.models.ststnet:STSTNet",
    "meganet": "merjax.models.meganet:MEGANet",
    "dfrnet": "merjax.models.dfrnet:DFRNet",
    "off_apexnet": "merjax.models.off_apexnet:OffApexNet",
    "micro_attention": "merjax.models.micro_attention:MicroAttentionNet",
    "dianet": "merjax.models.dianet:DIANet",
    "fdp": "merjax.models.fdp:FDP",
    "fdp_release": "merjax.models.fdp_release:FDPRelease",
}
BACKBONE = "merjax.models.backbones"
MODELS.update({name: f"{BACKBONE}:{name}" for name in backbones.BACKBONES})

# Dataclass fields of a module that no config sets.
_NOT_FIELDS = {"parent", "name", "num_classes"}
# model.* keys of every model that are not module fields: how its variables start.
INIT_KEYS = ("pretrained", "pretrained_format", "pretrained_sha256", "pretrained_parts", "init")


def _closest(name: str, known) -> str:
  close = difflib.get_close_matches(str(name), sorted(known), n=3, cutoff=0.6)
  return f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(sorted(known))}"


def _check_name(name: Any) -> str:
  if name is None:
    raise MerjaxError("model.name: no model named (--model NAME)")
  if name not in MODELS:
    raise MerjaxError(f"model.name: unknown model {name!r}; {_closest(name, MODELS)}")
  return name


def is_backbone(name: str) -> bool:
  """True for a registered backbone (`--model resnet18`, ...)."""
  return _check_name(name) in backbones.BACKBONES


def model_class(name: str) -> type[nn.Module]:
  """The Flax module class of model `name` (a backbone: `backbones.common.Classifier`)."""
  if is_backbone(name):
    return backbones.common.Classifier
  module, cls = MODELS[name].split(":")
  return getattr(importlib.import_module(module), cls)


def model_fields(name: str) -> set[str]:
  """The keys a config may set under `model.*` for model `name` (besides `name`)."""
  if is_backbone(name):
    return backbones.classifier_fields(name)
  return {f.name for f in dataclasses.fields(model_class(name))} - _NOT_FIELDS


def _unknown_field(name: str, key: str, known) -> MerjaxError:
  if key == "input_shapes":
    return MerjaxError("model.input_shapes: not a model field; the input shapes follow from "
                       "data.inputs and data.preprocess (merjax.models.inputs.input_shapes)")
  close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
  hint = (f"did you mean {' or '.join(f'model.{c}' for c in close)}?" if close
          else f"fields: {', '.join(sorted(known))}")
  return MerjaxError(f"model.{key}: unknown field of model '{name}'; {hint}")


def _frozen(value: Any) -> Any:
  """Lists (JSON arrays, e.g. from config.json or an override) as tuples, recursively."""
  if isinstance(value, (list, tuple)):
    return tuple(_frozen(v) for v in value)
  if isinstance(value, Mapping):
    return {k: _frozen(v) for k, v in value.items()}
  return value


def check_config(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
  """Checks a `model` config group without building (no data needed) and returns its
  fields ready for the module: lists as tuples, `dtype` as a jnp type. MerjaxError, one
  line, naming the first unknown field (`model.dropot: unknown field of model 'ststnet';
  did you mean model.dropout?`) or a value the model's own `check_fields` rejects."""
  name = _check_name(model_cfg.get("name"))
  known = model_fields(name)
  fields = {k: v for k, v in model_cfg.items() if k != "name" and k not in INIT_KEYS}
  for key in fields:
    if key not in known:
      raise _unknown_field(name, key, known | set(INIT_KEYS))
  fields = {k: _frozen(v) for k, v in fields.items()}
  if "dtype" in fields:
    fields["dtype"] = resolve_dtype(fields["dtype"])
  if not is_backbone(name):
    check = getattr(importlib.import_module(MODELS[name].split(":")[0]), "check_fields", None)
    if check is not None:
      check(fields)
  if any(k in model_cfg for k in INIT_KEYS):
    from merjax.models.weights import pretrained  # pylint: disable=import-outside-toplevel
    model = None
    if model_cfg.get("pretrained"):
      model = _build(name, fields, 3)
    pretrained.check(model_cfg, model)
  return fields


def _build(name: str, fields: Mapping[str, Any], num_classes: int) -> nn.Module:
  if is_backbone(name):
    return backbones.make_classifier(name, fields, int(num_classes))
  return model_class(name)(num_classes=int(num_classes), **fields)


def build_model(model_cfg: Mapping[str, Any], num_classes: int) -> nn.Module:
  """The Flax module named model_cfg["name"], its other keys as fields (`check_config`),
  with `num_classes` outputs."""
  if (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
      or num_classes < 1):
    raise MerjaxError(f"num_classes: {num_classes!r} is not a positive integer")
  fields = check_config(model_cfg)
  return _build(model_cfg["name"], fields, num_classes)

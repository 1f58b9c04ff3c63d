"""Optimizers built by optax from config, with numeric hyperparameters injected
into the optimizer state (so they can differ per fold or sweep member)."""

from __future__ import annotations

import inspect
import re
from typing import Any
from collections.abc import Callable, Mapping

import jax
import optax

from merjax.errors import MerjaxError

PREFIX = "train.optimizer"


# Top-level parameter modules that are a model's pretrained backbone (a backbone classifier's
# and DIANet's `backbone*` trunks, DFR-Net's ResNet stem and stages, the FDP release's
# encoder, 3-D conv, fc1 and SegNet: what its converter loads): `backbone_lr_scale`
# multiplies their learning rate.
BACKBONE_MODULES = re.compile(
    r"^(backbone(_\w+)?|stem_conv|stem_bn|layer\d+_\d+|frame_rep|conv3d|fc1|dyimg_net)$")


def backbone_labels(params) -> Any:
  """The pytree of "backbone" / "head" labels of a params tree (BACKBONE_MODULES); a model
  with no backbone module is a MerjaxError (a scale that would change nothing)."""
  if not any(BACKBONE_MODULES.match(k) for k in params):
    raise MerjaxError(f"{PREFIX}.backbone_lr_scale: this model has no backbone modules "
                      f"(top-level modules: {', '.join(sorted(params))}); remove the key")
  return {k: jax.tree.map(lambda _x, k=k: "backbone" if BACKBONE_MODULES.match(k) else "head",
                          v) for k, v in params.items()}


def _lr(learning_rate, backbone_lr_scale):
  """The final step: -learning_rate, times backbone_lr_scale on the backbone (optax
  multi_transform), or plain when backbone_lr_scale is None."""
  if backbone_lr_scale is None:
    return optax.scale_by_learning_rate(learning_rate)
  return optax.multi_transform(
      {"head": optax.scale_by_learning_rate(learning_rate),
       "backbone": optax.scale_by_learning_rate(learning_rate * backbone_lr_scale)},
      backbone_labels)


def _adam_l2(learning_rate, weight_decay=0.0, b1=0.9, b2=0.999, backbone_lr_scale=None):
  """Adam with L2 weight decay added to the gradient (PyTorch Adam's weight_decay)."""
  if backbone_lr_scale is None:
    return optax.chain(optax.add_decayed_weights(weight_decay),
                       optax.adam(learning_rate, b1=b1, b2=b2))
  return optax.chain(optax.add_decayed_weights(weight_decay),
                     optax.scale_by_adam(b1=b1, b2=b2), _lr(learning_rate, backbone_lr_scale))


def _adamw(learning_rate, weight_decay=0.0, b1=0.9, b2=0.999, backbone_lr_scale=None):
  """AdamW: decoupled weight decay (optax.adamw; the decay scaled by each part's rate)."""
  if backbone_lr_scale is None:
    return optax.adamw(learning_rate, b1=b1, b2=b2, weight_decay=weight_decay)
  return optax.chain(optax.scale_by_adam(b1=b1, b2=b2), optax.add_decayed_weights(weight_decay),
                     _lr(learning_rate, backbone_lr_scale))


def _sgd(learning_rate, weight_decay=0.0, momentum=0.9, backbone_lr_scale=None):
  """SGD with momentum and L2 weight decay on the gradient (PyTorch SGD's weight_decay)."""
  if backbone_lr_scale is None:
    return optax.chain(optax.add_decayed_weights(weight_decay),
                       optax.sgd(learning_rate, momentum=momentum))
  return optax.chain(optax.add_decayed_weights(weight_decay), optax.trace(decay=momentum),
                     _lr(learning_rate, backbone_lr_scale))


# name -> factory(**hyperparameters); its keyword arguments are the config keys.
OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "adam": _adam_l2, "adamw": _adamw, "sgd": _sgd,
}


def hyperparameters(name: str) -> dict[str, Any]:
  """{key: default} of optimizer `name` (inspect.Parameter.empty: required)."""
  params = inspect.signature(OPTIMIZERS[name]).parameters
  return {k: p.default for k, p in params.items()}



def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_config(config: Mapping[str, Any]) -> None:
  """Checks a `train.optimizer` group before any data is read: a known name, known
  keys, numeric values. One-line MerjaxError naming the key and the closest known ones,
  e.g. `train.optimizer.learning_rat: unknown key of optimizer 'adam'; did you mean
  train.optimizer.learning_rate?`."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  name = config.get("name")
  if name not in OPTIMIZERS:
    raise MerjaxError(f"{PREFIX}.name: unknown optimizer {name!r}; "
                      + schema.closest(str(name), OPTIMIZERS))
  known = hyperparameters(name)
  schema.check_keys([k for k in config if k != "name"], known, PREFIX, f"optimizer '{name}'")
  for key, value in config.items():
    if key == "name":
      continue
    if not _is_number(value):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a number")
  for key, default in known.items():
    if default is inspect.Parameter.empty and key not in config:
      raise MerjaxError(f"{PREFIX}.{key}: missing (optimizer '{name}' needs it)")


def make_optimizer(config: Mapping[str, Any]) -> optax.GradientTransformation:
  """config: {"name": adam|adamw|sgd, "learning_rate", "weight_decay", ...}, checked by
  `check_config`. "adam" is PyTorch's Adam (decay as L2 on the gradient), "adamw"
  decoupled. Every hyperparameter is injected (`optax.inject_hyperparams`), so a member
  may carry its own value (merjax/training/hparams.py). `backbone_lr_scale` (optional):
  the backbone's learning rate is learning_rate x backbone_lr_scale (optax multi_transform
  over `backbone_labels`), the rest's learning_rate."""
  check_config(config)
  name = config["name"]
  options = {k: v for k, v in config.items() if k != "name"}
  options.setdefault("weight_decay", 0.0)
  return optax.inject_hyperparams(OPTIMIZERS[name])(**options)

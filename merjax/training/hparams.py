"""Which numeric hyperparameters can be traced per member, and how a member's
traced values are applied.

A sweep key is *traced* when its values do not change any shape or program
structure: optimizer numbers (injected into the optax state by
`optax.inject_hyperparams`), a loss's numeric weights, augmentation strengths
and the model fields a module lists in `TRACEABLE_FIELDS` (e.g. a dropout rate
built on `merjax.models.layers.Dropout`). Members that differ only in traced
values share one compiled program; any other key is *structural* and makes a
separate program.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import jax.numpy as jnp

OPTIMIZER = "train.optimizer."
LOSS = "train.loss."
AUGMENT = "train.augment."
MODEL = "model."

# loss name -> its numeric options that may be traced.
TRACEABLE_LOSS_OPTIONS = {
    "focal": ("gamma", "alpha"),
    "dianet": ("consistency_weight",),
    "fdp": ("lambda_d", "lambda_r", "lambda_m", "c"),
}
TRACEABLE_AUGMENT = ("rotate_deg", "translate_px", "mixup_alpha", "cutmix_alpha")


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_traceable(key: str, values, config: Mapping, model=None) -> bool:
  """True when every value of `key` is a number and the key is one a member
  can carry as a traced scalar. `model` is the built module (for model.* keys)."""
  if not all(_is_number(v) for v in values):
    return False
  if key.startswith(OPTIMIZER):
    return key != OPTIMIZER + "name"
  if key.startswith(LOSS):
    loss_name = config["train"]["loss"]["name"]
    return key[len(LOSS):] in TRACEABLE_LOSS_OPTIONS.get(loss_name, ())
  if key.startswith(AUGMENT):
    return key[len(AUGMENT):] in TRACEABLE_AUGMENT
  if key.startswith(MODEL) and model is not None:
    return key[len(MODEL):] in getattr(model, "TRACEABLE_FIELDS", ())
  return False


def split(hparams: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
  """{"optimizer", "loss", "augment", "model"} -> {option: value} of one member."""
  out = {"optimizer": {}, "loss": {}, "augment": {}, "model": {}}
  for key, value in hparams.items():
    for part, prefix in (("optimizer", OPTIMIZER), ("loss", LOSS), ("augment", AUGMENT),
                         ("model", MODEL)):
      if key.startswith(prefix):
        out[part][key[len(prefix):]] = value
        break
    else:
      raise ValueError(f"hyperparameter {key} cannot be traced")
  return out


def inject_optimizer(opt_state, values: Mapping[str, Any]):
  """The `optax.inject_hyperparams` state with `values` replacing its hyperparameters."""
  if not values:
    return opt_state
  current = opt_state.hyperparams
  unknown = sorted(set(values) - set(current))
  if unknown:
    raise ValueError(f"optimizer has no hyperparameter {unknown}; it has {sorted(current)}")
  new = dict(current)
  for k, v in values.items():
    new[k] = jnp.asarray(v, current[k].dtype)
  return opt_state._replace(hyperparams=new)

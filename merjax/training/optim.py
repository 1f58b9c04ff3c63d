"""Optimizers built by optax from config, with numeric hyperparameters injected
into the optimizer state (so they can differ per fold or sweep member)."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Mapping

import optax

from merjax.errors import MerjaxError

PREFIX = "train.optimizer"


def _adam_l2(learning_rate, weight_decay=0.0, b1=0.9, b2=0.999):
  """Adam with L2 weight decay added to the gradient (PyTorch Adam's weight_decay)."""
  return optax.chain(optax.add_decayed_weights(weight_decay),
                     optax.adam(learning_rate, b1=b1, b2=b2))


def _adamw(learning_rate, weight_decay=0.0, b1=0.9, b2=0.999):
  """AdamW: decoupled weight decay (optax.adamw)."""
  return optax.adamw(learning_rate, b1=b1, b2=b2, weight_decay=weight_decay)


def _sgd(learning_rate, weight_decay=0.0, momentum=0.9):
  """SGD with momentum and L2 weight decay on the gradient (PyTorch SGD's weight_decay)."""
  return optax.chain(optax.add_decayed_weights(weight_decay),
                     optax.sgd(learning_rate, momentum=momentum))


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
  name = config.get("name")
  if name not in OPTIMIZERS:
    close = difflib.get_close_matches(str(name), list(OPTIMIZERS), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(OPTIMIZERS)}"
    raise MerjaxError(f"{PREFIX}.name: unknown optimizer {name!r}; {hint}")
  known = hyperparameters(name)
  for key, value in config.items():
    if key == "name":
      continue
    if key not in known:
      close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
      hint = (f"did you mean {' or '.join(f'{PREFIX}.{c}' for c in close)}?" if close
              else f"keys: {', '.join(sorted(known))}")
      raise MerjaxError(f"{PREFIX}.{key}: unknown key of optimizer '{name}'; {hint}")
    if not _is_number(value):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a number")
  for key, default in known.items():
    if default is inspect.Parameter.empty and key not in config:
      raise MerjaxError(f"{PREFIX}.{key}: missing (optimizer '{name}' needs it)")


def make_optimizer(config: Mapping[str, Any]) -> optax.GradientTransformation:
  """config: {"name": adam|adamw|sgd, "learning_rate", "weight_decay", ...}, checked by
  `check_config`. "adam" is PyTorch's Adam (decay as L2 on the gradient), "adamw"
  decoupled. Every hyperparameter is injected (`optax.inject_hyperparams`), so a member
  may carry its own value (merjax/training/hparams.py)."""
  check_config(config)
  name = config["name"]
  options = {k: v for k, v in config.items() if k != "name"}
  options.setdefault("weight_decay", 0.0)
  return optax.inject_hyperparams(OPTIMIZERS[name])(**options)

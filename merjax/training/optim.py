"""Optimizers built by optax from config, with numeric hyperparameters injected
into the optimizer state (so they can differ per fold or sweep member)."""

from __future__ import annotations

from typing import Mapping

import optax

from merjax.errors import MerjaxError


def _adam_l2(learning_rate, weight_decay, b1=0.9, b2=0.999):
  """Adam with L2 weight decay added to the gradient (PyTorch Adam's weight_decay)."""
  return optax.chain(optax.add_decayed_weights(weight_decay),
                     optax.adam(learning_rate, b1=b1, b2=b2))


_OPTIMIZERS = {
    "adam": _adam_l2,
    "adamw": lambda learning_rate, weight_decay: optax.adamw(
        learning_rate, weight_decay=weight_decay),
    "sgd": lambda learning_rate, weight_decay, momentum=0.9: optax.chain(
        optax.add_decayed_weights(weight_decay),
        optax.sgd(learning_rate, momentum=momentum)),
}


def make_optimizer(config: Mapping) -> optax.GradientTransformation:
  """config: {"name": adam|adamw|sgd, "learning_rate", "weight_decay", ...}.

  "adam" is PyTorch's Adam (decay as L2 on the gradient), "adamw" decoupled.
  """
  name = config["name"]
  if name not in _OPTIMIZERS:
    raise MerjaxError(f"unknown optimizer '{name}'; known: {', '.join(_OPTIMIZERS)}")
  options = {k: v for k, v in config.items() if k != "name"}
  options.setdefault("weight_decay", 0.0)
  return optax.inject_hyperparams(_OPTIMIZERS[name])(**options)

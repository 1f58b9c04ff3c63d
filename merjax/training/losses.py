"""Classification losses by name. A loss maps (outputs, batch, labels_B) to
(scalar loss, dict of named scalar parts)."""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import optax

from merjax.errors import MerjaxError


def cross_entropy(outputs, batch, labels_B):
  """Mean softmax cross-entropy of outputs["logits"] (B x K)."""
  del batch
  ce = optax.softmax_cross_entropy_with_integer_labels(
      outputs["logits"].astype(jnp.float32), labels_B).mean()
  return ce, {"ce": ce}


def focal(outputs, batch, labels_B, gamma: float = 2.0, alpha: float = 1.0):
  """Focal loss alpha * (1 - p_t)^gamma * CE (Lin et al.), mean over the batch.

  `alpha` is one scalar weight for every class (MESTI gives no per-class alpha).
  """
  del batch
  logp_BxK = jax.nn.log_softmax(outputs["logits"].astype(jnp.float32))
  logp_B = jnp.take_along_axis(logp_BxK, labels_B[:, None], axis=1)[:, 0]
  loss = (alpha * (1.0 - jnp.exp(logp_B)) ** gamma * -logp_B).mean()
  return loss, {"focal": loss}


# name -> factory(**config) -> loss function. Models with extra loss terms
# (FDP, DIANet) register theirs here.
LOSSES: dict[str, Callable[..., Callable]] = {
    "cross_entropy": lambda: cross_entropy,
    "focal": lambda gamma=2.0, alpha=1.0: functools.partial(
        focal, gamma=gamma, alpha=alpha),
}


def make_loss(config: Mapping):
  """Builds the loss named config["name"] with the remaining keys as options."""
  options = {k: v for k, v in config.items() if k != "name"}
  name = config["name"]
  if name not in LOSSES:
    raise MerjaxError(f"unknown loss '{name}'; known: {', '.join(sorted(LOSSES))}")
  return LOSSES[name](**options)

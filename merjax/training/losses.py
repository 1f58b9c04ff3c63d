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


def dianet(outputs, batch, labels_B, consistency_weight: float = 0.1, eps: float = 1e-8):
  """DIANet (seed 004 Eq. 4-5): CE + lambda * mean_i(1 - cos(f1_i, f2_i)).

  lambda (`consistency_weight`) is unstated in the paper; 0.1 is ours (docs/dianet.md).
  Norms are clamped at `eps` each (torch.nn.functional.cosine_similarity)."""
  if "f2" not in outputs:
    raise MerjaxError("loss dianet needs outputs f1 and f2 (a one-stream model: use cross_entropy)")
  ce, _ = cross_entropy(outputs, batch, labels_B)
  f1_BxD = outputs["f1"].astype(jnp.float32)
  f2_BxD = outputs["f2"].astype(jnp.float32)
  norm = lambda f: jnp.sqrt(jnp.maximum(jnp.sum(f * f, axis=-1), eps * eps))
  cos_B = jnp.sum(f1_BxD * f2_BxD, axis=-1) / (norm(f1_BxD) * norm(f2_BxD))
  cons = jnp.mean(1.0 - cos_B)
  return ce + consistency_weight * cons, {"ce": ce, "consistency": cons}


# name -> factory(**config) -> loss function. Models with extra loss terms
# (FDP, DIANet) register theirs here.
LOSSES: dict[str, Callable[..., Callable]] = {
    "cross_entropy": lambda: cross_entropy,
    "focal": lambda gamma=2.0, alpha=1.0: functools.partial(
        focal, gamma=gamma, alpha=alpha),
    "dianet": lambda consistency_weight=0.1, eps=1e-8: functools.partial(
        dianet, consistency_weight=consistency_weight, eps=eps),
    # FDP: lambda_m CE + lambda_d L_DIC + lambda_r L_rank (merjax/training/fdp_losses.py).
    "fdp": lambda **options: _fdp_losses().make_loss(**options),
}


def _fdp_losses():
  from merjax.training import fdp_losses  # pylint: disable=import-outside-toplevel
  return fdp_losses


def make_loss(config: Mapping):
  """Builds the loss named config["name"] with the remaining keys as options."""
  options = {k: v for k, v in config.items() if k != "name"}
  name = config["name"]
  if name not in LOSSES:
    raise MerjaxError(f"unknown loss '{name}'; known: {', '.join(sorted(LOSSES))}")
  return LOSSES[name](**options)

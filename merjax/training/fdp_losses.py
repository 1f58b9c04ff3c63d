"""FDP losses (paper Eqs. 5-8): L = CE + lambda_d * L_DIC + lambda_r * L_rank."""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import optax

Array = jax.Array


def rank_loss(scores_BxT: Array, c: float = 1.0, first_index: int = 1) -> Array:
  """Batch mean of sum_k |c * k - S(F_k)|, frames numbered k = first_index, first_index + 1, ...

  Default k is 1-based (merjax's choice: the targets are c, 2c, ..., Tc). The paper's Eq. 5 sums
  k = 0 .. t-1 (first target 0); pass first_index=0 for that literal reading.
  """
  t = scores_BxT.shape[-1]
  target_T = c * jnp.arange(first_index, first_index + t, dtype=jnp.float32)
  return jnp.mean(jnp.sum(jnp.abs(target_T - scores_BxT.astype(jnp.float32)), axis=-1))


def dic_loss(pred_BxHxWx1: Array, target_BxHxWx1: Array) -> Array:
  """Dynamic-image construction loss: mean squared error over batch and pixels."""
  diff = pred_BxHxWx1.astype(jnp.float32) - target_BxHxWx1.astype(jnp.float32)
  return jnp.mean(jnp.square(diff))


def fdp_loss(outputs: Mapping[str, Array], batch: Mapping[str, Array], num_classes: int,
             lambda_d: float = 100.0, lambda_r: float = 0.1, c: float = 1.0,
             first_index: int = 1, label_key: str = "label",
             target_key: str = "dynamic_image") -> tuple[Array, dict[str, Array]]:
  """Full FDP loss. outputs: `logits` B x K, optional `dynamic_image` B x H x W x 1 and
  `rank_scores` B x T (a term whose output is absent, e.g. an ablation, contributes 0).
  batch: integer labels B under `label_key`; target dynamic image B x H x W x 1 in [0, 1] under
  `target_key` (needed only when the model returns `dynamic_image`).
  Returns (loss, {"ce", "dic", "rank", "loss"})."""
  logits_BxK = outputs["logits"].astype(jnp.float32)
  onehot_BxK = jax.nn.one_hot(batch[label_key], num_classes)
  ce = jnp.mean(optax.softmax_cross_entropy(logits_BxK, onehot_BxK))
  zero = jnp.zeros((), jnp.float32)
  dic = (dic_loss(outputs["dynamic_image"], batch[target_key])
         if "dynamic_image" in outputs else zero)
  rank = rank_loss(outputs["rank_scores"], c, first_index) if "rank_scores" in outputs else zero
  loss = ce + lambda_d * dic + lambda_r * rank
  return loss, {"ce": ce, "dic": dic, "rank": rank, "loss": loss}

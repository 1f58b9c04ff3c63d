"""FDP losses (paper Eqs. 5-8): L = lambda_m * CE + lambda_d * L_DIC + lambda_r * L_rank.

`fdp_loss(outputs, batch, labels_B, ...)` has the merjax loss signature (registered as "fdp" in
merjax/training/losses.LOSSES). The L_DIC target is computed on device from the (augmented)
input frames, so target and input always agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import optax

from merjax.modalities import rank_pooling_weights
from merjax.modalities.normalize import normalize_image

Array = jax.Array

# cv2 RGB2GRAY weights: a 3-channel clip's target DI is the DI of its grey frames (ARP is linear,
# so this equals the grey mix of the per-channel DIs).
GRAY_RGB = (0.299, 0.587, 0.114)


def rank_loss(scores_BxT: Array, c: float = 1.0, first_index: int = 0) -> Array:
  """Batch mean of sum_k |c * k - S(F_k)| over scores B x T, frames numbered
  k = first_index, first_index + 1, ...

  Default k = 0 .. t-1 as the paper's Eq. 5 (first target 0); first_index=1 gives the
  targets c, 2c, ..., Tc.
  """
  t = scores_BxT.shape[-1]
  target_T = c * jnp.arange(first_index, first_index + t, dtype=jnp.float32)
  return jnp.mean(jnp.sum(jnp.abs(target_T - scores_BxT.astype(jnp.float32)), axis=-1))


def dic_loss(pred_BxHxWx1: Array, target_BxHxWx1: Array) -> Array:
  """Dynamic-image construction loss: mean squared error over batch and pixels."""
  diff = pred_BxHxWx1.astype(jnp.float32) - target_BxHxWx1.astype(jnp.float32)
  return jnp.mean(jnp.square(diff))


def target_dynamic_image(frames_BxTxHxWxC: Array) -> Array:
  """Ground-truth DI, B x H x W x 1: Bilen's harmonic approximate rank pooling over the T frames
  (grey: cv2 weights for C=3, channel mean otherwise), min-max scaled to [0, 1] per sample (one
  min and max over the image, as the release's cv2.normalize; a constant DI maps to 0)."""
  f = frames_BxTxHxWxC.astype(jnp.float32)
  c = f.shape[-1]
  if c == 3:
    grey_BxTxHxW = jnp.tensordot(f, jnp.asarray(GRAY_RGB, jnp.float32), axes=1)
  else:
    grey_BxTxHxW = jnp.mean(f, axis=-1)
  w_T = jnp.asarray(rank_pooling_weights(f.shape[1], "harmonic"), jnp.float32)
  di_BxHxW = jnp.einsum("t,bthw->bhw", w_T, grey_BxTxHxW)
  di_BxHxWx1 = jax.vmap(lambda x: normalize_image(x, "minmax"))(di_BxHxW[..., None])
  return jax.lax.stop_gradient(di_BxHxWx1)


def fdp_loss(outputs: Mapping[str, Array], batch: Mapping[str, Array], labels_B: Array,
             lambda_d: float = 100.0, lambda_r: float = 0.1, lambda_m: float = 1.0,
             c: float = 1.0, first_index: int = 0, frames_key: str = "frames",
             target_key: str = "dynamic_image") -> tuple[Array, dict[str, Array]]:
  """Full FDP loss. outputs: `logits` B x K, optional `dynamic_image` B x H x W x 1 and
  `rank_scores` B x T (a term whose output is absent, e.g. an ablation, contributes 0).
  batch: the model inputs; the DI target is batch[target_key] (B x H x W x 1 in [0, 1]) when
  present, else `target_dynamic_image(batch[frames_key])`. labels_B: integer class labels.
  lambda_m = 0 is "FDP w/o L_MER" (paper Table 14).
  Returns (loss, {"ce", "dic", "rank", "loss"})."""
  logits_BxK = outputs["logits"].astype(jnp.float32)
  ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits_BxK, labels_B))
  zero = jnp.zeros((), jnp.float32)
  dic = zero
  if "dynamic_image" in outputs:
    target = (batch[target_key] if target_key in batch
              else target_dynamic_image(batch[frames_key]))
    dic = dic_loss(outputs["dynamic_image"], target)
  rank = rank_loss(outputs["rank_scores"], c, first_index) if "rank_scores" in outputs else zero
  loss = lambda_m * ce + lambda_d * dic + lambda_r * rank
  return loss, {"ce": ce, "dic": dic, "rank": rank, "loss": loss}


# The "fdp" entry of merjax.training.losses: the loss and {option: default}.
LOSS = fdp_loss
OPTIONS = {"lambda_d": 100.0, "lambda_r": 0.1, "lambda_m": 1.0, "c": 1.0, "first_index": 0,
           "frames_key": "frames", "target_key": "dynamic_image"}


def make_loss(**options):
  """fdp_loss with `options` bound (MerjaxError on unknown ones): the "fdp" loss."""
  from merjax.training import losses  # pylint: disable=import-outside-toplevel
  return losses.make_loss({"name": "fdp", **options})

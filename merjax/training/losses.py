"""Classification losses by name. A loss maps (outputs, batch, labels_B) to
(scalar loss, dict of named scalar parts)."""

from __future__ import annotations

import functools
import importlib
import numbers
from typing import Any
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import optax

from merjax.errors import MerjaxError


def _at_least_f32(x):
  """x in float32, or in its own dtype when wider (a float64 run stays float64)."""
  return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def cross_entropy(outputs, batch, labels_B):
  """Mean softmax cross-entropy of outputs["logits"] (B x K), in float32 or wider."""
  del batch
  ce = optax.softmax_cross_entropy_with_integer_labels(
      _at_least_f32(outputs["logits"]), labels_B).mean()
  return ce, {"ce": ce}


def sigmoid_bce(outputs, batch, labels_BxA):
  """Multi-label (data.task=au): mean over the batch and the A outputs of the sigmoid
  binary cross-entropy of outputs["logits"] (B x A) against 0/1 targets labels_BxA."""
  del batch
  bce = optax.sigmoid_binary_cross_entropy(
      outputs["logits"].astype(jnp.float32), labels_BxA.astype(jnp.float32)).mean()
  return bce, {"bce": bce}


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


def per_sample(loss_fn, outputs, batch, labels_B):
  """loss_B: `loss_fn` evaluated on each sample alone (every registered loss is a batch
  mean of per-sample terms, so their mean is the batch loss)."""
  one = lambda o, x, y: loss_fn(jax.tree.map(lambda a: a[None], o),
                                jax.tree.map(lambda a: a[None], x), y[None])[0]
  return jax.vmap(one)(outputs, batch, labels_B)


def mixed_per_sample(loss_fn, outputs, batch, labels_B, partner_B, lam_B):
  """loss_B of a MixUp / CutMix batch: lam loss(y) + (1 - lam) loss(y[partner]) per
  sample (merjax/training/augment.py mix_batch gives partner_B and lam_B)."""
  own_B = per_sample(loss_fn, outputs, batch, labels_B)
  other_B = per_sample(loss_fn, outputs, batch, labels_B[partner_B])
  return lam_B * own_B + (1.0 - lam_B) * other_B


# name -> (loss function, {option: default}). A loss is called as fn(outputs, batch,
# labels_B, **options). Models with extra loss terms (FDP, DIANet) register theirs here.
LOSSES: dict[str, tuple[Callable, Mapping[str, Any]]] = {
    "cross_entropy": (cross_entropy, {}),
    "sigmoid_bce": (sigmoid_bce, {}),
    "focal": (focal, {"gamma": 2.0, "alpha": 1.0}),
    "dianet": (dianet, {"consistency_weight": 0.1, "eps": 1e-8}),
}
# FDP: lambda_m CE + lambda_d L_DIC + lambda_r L_rank (merjax/training/fdp_losses.py),
# imported on first use (it reads the modality kernels).
LAZY_LOSSES = {"fdp": "merjax.training.fdp_losses"}
PREFIX = "train.loss"
# Losses of multi-hot targets (data.task=au); every other loss takes integer classes.
MULTILABEL = ("sigmoid_bce",)


def _entry(name: str) -> tuple[Callable, Mapping[str, Any]]:
  if name in LOSSES:
    return LOSSES[name]
  module = importlib.import_module(LAZY_LOSSES[name])
  return module.LOSS, module.OPTIONS


def names() -> list[str]:
  """Every registered loss name."""
  return sorted(set(LOSSES) | set(LAZY_LOSSES))


def options(name: str) -> dict[str, Any]:
  """{option: default} of loss `name`."""
  return dict(_entry(name)[1])


def _is_number(v) -> bool:
  """A Python / numpy number, or a traced scalar (a member's sweep value)."""
  return isinstance(v, (numbers.Real, jax.Array)) and not isinstance(v, bool)


def check_config(config: Mapping[str, Any]) -> None:
  """Checks a `train.loss` group before any data is read: a known name, known options,
  values of the defaults' types (numbers for numbers). One-line MerjaxError naming the key
  and the closest known ones (`train.loss.gama: unknown key of loss 'focal'; did you mean
  train.loss.gamma?`)."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  name = config.get("name")
  if name not in names():
    raise MerjaxError(f"{PREFIX}.name: unknown loss {name!r}; "
                      + schema.closest(str(name), names()))
  known = options(name)
  schema.check_keys([k for k in config if k != "name"], known, PREFIX, f"loss '{name}'")
  for key, value in config.items():
    if key == "name":
      continue
    default = known[key]
    if _is_number(default) and not _is_number(value):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a number")
    if isinstance(default, str) and not isinstance(value, str):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a string")


def make_loss(config: Mapping[str, Any]) -> Callable:
  """The loss named config["name"] with the remaining keys as options (`check_config`):
  fn(outputs, batch, labels_B) -> (scalar loss, {part: scalar})."""
  check_config(config)
  fn, defaults = _entry(config["name"])
  bound = {**defaults, **{k: v for k, v in config.items() if k != "name"}}
  return functools.partial(fn, **bound) if bound else fn

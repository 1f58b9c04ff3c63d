"""Pieces the ImageNet backbones share: PyTorch-style conv/BN, stochastic depth,
adaptive pooling, and the classifier head that turns a trunk into a merjax model."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from merjax.errors import MerjaxError

Dtype = Any

# PyTorch BatchNorm2d(momentum=0.1) updates running = 0.9 * running + 0.1 * batch;
# flax's `momentum` is the weight on the old value.
TORCH_BN_MOMENTUM = 0.9
# torchvision's conv init (kaiming_normal_, mode="fan_out", relu gain).
KAIMING_FAN_OUT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


def conv(features: int, kernel: int, stride: int = 1, groups: int = 1,
         use_bias: bool = False, padding: int | None = None,
         dtype: Dtype = jnp.float32, name: str | None = None,
         kernel_init=KAIMING_FAN_OUT) -> nn.Conv:
  """A square conv padded symmetrically like PyTorch ((k - 1) // 2 unless given)."""
  pad = (kernel - 1) // 2 if padding is None else padding
  return nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                 padding=((pad, pad), (pad, pad)), feature_group_count=groups,
                 use_bias=use_bias, dtype=dtype, kernel_init=kernel_init, name=name)


def batch_norm(train: bool, eps: float = 1e-5, dtype: Dtype = jnp.float32,
               name: str | None = None, scale_init=nn.initializers.ones) -> nn.BatchNorm:
  """BatchNorm2d with PyTorch defaults (momentum 0.1, eps 1e-5 unless given)."""
  return nn.BatchNorm(use_running_average=not train, momentum=TORCH_BN_MOMENTUM,
                      epsilon=eps, dtype=dtype, scale_init=scale_init, name=name)


class DropPath(nn.Module):
  """Stochastic depth ("row" mode): drops the whole residual branch per sample
  with probability `rate` in training and rescales the kept ones by 1 / (1 - rate)."""
  rate: float

  @nn.compact
  def __call__(self, x_Bx___: jax.Array, train: bool) -> jax.Array:
    if not train or self.rate == 0.0:
      return x_Bx___
    keep = 1.0 - self.rate
    shape = (x_Bx___.shape[0],) + (1,) * (x_Bx___.ndim - 1)
    keep_Bx1 = jax.random.bernoulli(self.make_rng("dropout"), keep, shape)
    return jnp.where(keep_Bx1, x_Bx___ / keep, 0).astype(x_Bx___.dtype)


def _pool_matrix(n_in: int, n_out: int) -> np.ndarray:
  """n_out x n_in averaging matrix with PyTorch's adaptive-pool bins
  [floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out))."""
  m = np.zeros((n_out, n_in), np.float32)
  for i in range(n_out):
    start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
    m[i, start:end] = 1.0 / (end - start)
  return m


def adaptive_avg_pool(x_BxHxWxC: jax.Array, out_h: int, out_w: int) -> jax.Array:
  """nn.AdaptiveAvgPool2d((out_h, out_w)) for any input size (upsamples by repetition)."""
  _, h, w, _ = x_BxHxWxC.shape
  ph = jnp.asarray(_pool_matrix(h, out_h), x_BxHxWxC.dtype)
  pw = jnp.asarray(_pool_matrix(w, out_w), x_BxHxWxC.dtype)
  return jnp.einsum("ih,bhwc,jw->bijc", ph, x_BxHxWxC, pw)


class Classifier(nn.Module):
  """Wraps a trunk (`trunk(x_BxHxWxC, train) -> {"features", "feature_map"}`) into a
  merjax model: reads batch["image"], returns {"logits": B x K, "features": B x D}
  (plus "feature_map" B x h x w x C when `return_feature_map`)."""
  backbone: nn.Module
  num_classes: int
  dropout_rate: float = 0.0  # dropout before the final Linear (torchvision's head)
  return_feature_map: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, batch: Mapping[str, jax.Array], train: bool) -> dict[str, jax.Array]:
    out = self.backbone(batch["image"], train=train)
    f_BxD = out["features"]
    h_BxD = nn.Dropout(self.dropout_rate, deterministic=not train)(f_BxD)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h_BxD)
    result = {"logits": logits_BxK.astype(jnp.float32), "features": f_BxD}
    if self.return_feature_map:
      result["feature_map"] = out["feature_map"]
    return result


def resolve_dtype(value: Any) -> Dtype:
  """'bfloat16' / jnp.bfloat16 / None -> a jnp dtype (None -> float32)."""
  if value is None:
    return jnp.float32
  try:
    return jnp.dtype(value).type
  except TypeError as e:
    raise MerjaxError(f"model config: unknown dtype {value!r}") from e


def build_classifier(trunk_cls: type[nn.Module], model_cfg: Mapping[str, Any],
                     num_classes: int, default_dropout: float,
                     **fixed: Any) -> Classifier:
  """Classifier(trunk_cls(**fixed, **model_cfg)); the keys `dropout`,
  `return_feature_map`, `dtype` go to the head; any other key must be a trunk field."""
  cfg = dict(model_cfg)
  cfg.pop("name", None)
  dropout = float(cfg.pop("dropout", default_dropout))
  return_feature_map = bool(cfg.pop("return_feature_map", False))
  dtype = resolve_dtype(cfg.pop("dtype", None))
  fields = {f.name for f in dataclasses.fields(trunk_cls)} - {"parent", "name"}
  unknown = sorted(set(cfg) - fields)
  if unknown:
    raise MerjaxError(
        f"{trunk_cls.__name__}: unknown model config keys {unknown} (known: {sorted(fields)})")
  trunk = trunk_cls(**{**fixed, **cfg, "dtype": dtype})
  return Classifier(backbone=trunk, num_classes=num_classes, dropout_rate=dropout,
                    return_feature_map=return_feature_map, dtype=dtype)

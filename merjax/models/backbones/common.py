"""Pieces the ImageNet backbones share: PyTorch-style conv, adaptive pooling, and the
classifier head that turns a trunk into a merjax model. BatchNorm, DropPath and dtype names
are the shared ones of merjax/models/layers.py."""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from merjax.errors import MerjaxError

Dtype = Any

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


# torchvision's ImageNet normalisation of RGB inputs in [0, 1] (`transforms.Normalize`).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_NORMS = ("none", "imagenet")


def normalize_input(x_BxHxWxC: jax.Array, input_norm: str) -> jax.Array:
  """x unchanged ("none") or (x - ImageNet mean) / ImageNet std per RGB channel
  ("imagenet": what ImageNet-pretrained torchvision / timm weights expect of [0, 1] RGB)."""
  if input_norm == "none":
    return x_BxHxWxC
  if input_norm != "imagenet":
    raise MerjaxError(f"model.input_norm: {input_norm!r} is not one of {INPUT_NORMS}")
  if x_BxHxWxC.shape[-1] != 3:
    raise MerjaxError(f"model.input_norm=imagenet needs RGB inputs, got "
                      f"{x_BxHxWxC.shape[-1]} channels")
  mean = jnp.asarray(IMAGENET_MEAN, x_BxHxWxC.dtype)
  std = jnp.asarray(IMAGENET_STD, x_BxHxWxC.dtype)
  return (x_BxHxWxC - mean) / std


class Classifier(nn.Module):
  """Wraps a trunk (`trunk(x_BxHxWxC, train) -> {"features", "feature_map"}`) into a
  merjax model: reads batch["image"], returns {"logits": B x K, "features": B x D}
  (plus "feature_map" B x h x w x C when `return_feature_map`)."""
  backbone: nn.Module
  num_classes: int
  dropout: float = 0.0       # dropout before the final Linear (torchvision's head)
  return_feature_map: bool = False
  input_norm: str = "none"   # "imagenet": ImageNet mean / std per RGB channel first
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, batch: Mapping[str, jax.Array], train: bool) -> dict[str, jax.Array]:
    out = self.backbone(normalize_input(batch["image"], self.input_norm), train=train)
    f_BxD = out["features"]
    h_BxD = nn.Dropout(self.dropout, deterministic=not train)(f_BxD)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h_BxD)
    # float32 logits (bfloat16 compute included); a float64 model keeps float64.
    result = {"logits": logits_BxK.astype(jnp.promote_types(logits_BxK.dtype, jnp.float32)),
              "features": f_BxD}
    if self.return_feature_map:
      result["feature_map"] = out["feature_map"]
    return result

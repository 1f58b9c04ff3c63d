"""Pieces the ImageNet backbones share: PyTorch-style conv, adaptive pooling, and the
classifier head that turns a trunk into a merjax model. BatchNorm, DropPath and dtype names
are the shared ones of merjax/models/layers.py."""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

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


class Classifier(nn.Module):
  """Wraps a trunk (`trunk(x_BxHxWxC, train) -> {"features", "feature_map"}`) into a
  merjax model: reads batch["image"], returns {"logits": B x K, "features": B x D}
  (plus "feature_map" B x h x w x C when `return_feature_map`)."""
  backbone: nn.Module
  num_classes: int
  dropout: float = 0.0       # dropout before the final Linear (torchvision's head)
  return_feature_map: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, batch: Mapping[str, jax.Array], train: bool) -> dict[str, jax.Array]:
    out = self.backbone(batch["image"], train=train)
    f_BxD = out["features"]
    h_BxD = nn.Dropout(self.dropout, deterministic=not train)(f_BxD)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h_BxD)
    result = {"logits": logits_BxK.astype(jnp.float32), "features": f_BxD}
    if self.return_feature_map:
      result["feature_map"] = out["feature_map"]
    return result

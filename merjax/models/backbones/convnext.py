"""ConvNeXt-Tiny as torchvision builds it: 4x4/4 patchify stem + LayerNorm, stages of
depths (3, 3, 9, 3) and widths (96, 192, 384, 768) with LayerNorm + 2x2/2 conv downsampling
between them; each block is 7x7 depthwise conv -> LayerNorm -> Linear 4x -> GELU (exact)
-> Linear -> layer scale (init 1e-6) -> stochastic depth (0.1, rising linearly) + input.
Head: global average -> LayerNorm -> Linear. 28,589,128 params with 1000 classes."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, conv
from merjax.models.layers import DropPath

_INIT = nn.initializers.truncated_normal(0.02)  # torchvision: trunc_normal_(std=0.02), bias 0


class CNBlock(nn.Module):
  """One ConvNeXt block on B x H x W x C."""
  layer_scale: float = 1e-6
  drop_path: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    c = x_BxHxWxC.shape[-1]
    y = conv(c, 7, groups=c, use_bias=True, dtype=self.dtype, kernel_init=_INIT,
             name="dw_conv")(x_BxHxWxC)
    y = nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name="norm")(y)
    y = nn.Dense(4 * c, dtype=self.dtype, kernel_init=_INIT, name="fc1")(y)
    y = nn.gelu(y, approximate=False)
    y = nn.Dense(c, dtype=self.dtype, kernel_init=_INIT, name="fc2")(y)
    gamma_C = self.param("layer_scale", nn.initializers.constant(self.layer_scale), (c,))
    y = y * gamma_C.astype(self.dtype)
    return x_BxHxWxC + DropPath(self.drop_path)(y, deterministic=not train)


class ConvNeXt(nn.Module):
  """Trunk. Returns {"features": B x 768 (pooled, then the head's LayerNorm),
  "feature_map": B x H/32 x W/32 x 768}."""
  depths: Sequence[int] = (3, 3, 9, 3)
  dims: Sequence[int] = (96, 192, 384, 768)
  drop_path: float = 0.1       # stochastic depth, rising linearly over the blocks
  layer_scale: float = 1e-6
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> dict[str, jax.Array]:
    ln = lambda name: nn.LayerNorm(epsilon=1e-6, dtype=self.dtype, name=name)
    x = conv(self.dims[0], 4, 4, use_bias=True, padding=0, dtype=self.dtype, kernel_init=_INIT,
             name="stem_conv")(x_BxHxWxC.astype(self.dtype))
    x = ln("stem_norm")(x)
    total = sum(self.depths)
    block_id = 0
    for i, (depth, dim) in enumerate(zip(self.depths, self.dims)):
      if i > 0:
        x = ln(f"downsample{i}_norm")(x)
        x = conv(dim, 2, 2, use_bias=True, padding=0, dtype=self.dtype, kernel_init=_INIT,
                 name=f"downsample{i}_conv")(x)
      for j in range(depth):
        rate = self.drop_path * block_id / (total - 1.0)
        x = CNBlock(self.layer_scale, rate, self.dtype, name=f"stage{i}_{j}")(x, train)
        block_id += 1
    f_BxC = ln("head_norm")(jnp.mean(x, axis=(1, 2)))
    return {"features": f_BxC, "feature_map": x}


def convnext_tiny(**kwargs: Any) -> ConvNeXt:
  return ConvNeXt(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), **kwargs)

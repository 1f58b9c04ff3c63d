"""MobileViT-S as timm builds `mobilevit_s` (ByobNet config in timm/models/mobilevit.py):

- stem: 3x3/2 conv 3 -> 16, BN, SiLU;
- stages: inverted-residual blocks (timm "bottle" with bottle_in: 1x1 expand x4 of the *input*
  channels -> 3x3 depthwise (stride here) -> 1x1 linear project; identity shortcut only when
  shape is kept, no projection shortcut otherwise), then for the last three stages a MobileViT
  block (3x3 conv -> 1x1 to d -> transformer over 2x2 patches -> LayerNorm -> 1x1 back, BN,
  SiLU -> concat with the block input -> 3x3 fusion conv, BN, SiLU);
- final 1x1 conv 160 -> 640, BN, SiLU; global average; Linear(640, K).

Widths 32 | 64 x3 | 96 (d 144, 2 layers) | 128 (d 192, 4) | 160 (d 240, 3); 4 heads, MLP
ratio 2 with SiLU, qkv bias, LayerNorm eps 1e-5, BN eps 1e-5 / momentum 0.1.
5,578,632 params with 1000 classes (derived in tests/models/test_backbones.py)."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, conv
from merjax.models.layers import DropPath, batch_norm
from merjax.models.backbones.efficientnet import make_divisible

# (out_channels, stride, num_inverted_residuals, transformer_dim or None, transformer_depth)
MOBILEVIT_S_STAGES = (
    (32, 1, 1, None, 0),
    (64, 2, 3, None, 0),
    (96, 2, 1, 144, 2),
    (128, 2, 1, 192, 4),
    (160, 2, 1, 240, 3),
)


class InvertedResidual(nn.Module):
  """timm BottleneckBlock(bottle_in=True, linear_out=True, downsample='', group_size=1)."""
  out_channels: int
  stride: int = 1
  bottle_ratio: float = 4.0
  drop_path: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    c_in = x_BxHxWxC.shape[-1]
    mid = make_divisible(c_in * self.bottle_ratio)
    bn = lambda name: batch_norm(train, dtype=self.dtype, name=name)
    y = nn.silu(bn("bn1")(conv(mid, 1, dtype=self.dtype, name="conv1")(x_BxHxWxC)))
    y = conv(mid, 3, self.stride, groups=mid, dtype=self.dtype, name="conv2")(y)
    y = nn.silu(bn("bn2")(y))
    y = bn("bn3")(conv(self.out_channels, 1, dtype=self.dtype, name="conv3")(y))
    if self.stride == 1 and c_in == self.out_channels:
      y = DropPath(self.drop_path)(y, deterministic=not train) + x_BxHxWxC
    return y


class TransformerLayer(nn.Module):
  """Pre-norm ViT layer on B x N x D: x + MHSA(LN(x)); x + MLP(LN(x)) (SiLU)."""
  num_heads: int = 4
  mlp_ratio: float = 2.0
  drop_path: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxNxD: jax.Array, train: bool) -> jax.Array:
    b, n, d = x_BxNxD.shape
    h, hd = self.num_heads, d // self.num_heads
    y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="norm1")(x_BxNxD)
    qkv = nn.Dense(3 * d, dtype=self.dtype, name="qkv")(y).reshape(b, n, 3, h, hd)
    q_BxNxHxE, k_BxNxHxE, v_BxNxHxE = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    logits_BxHxNxN = jnp.einsum("bqhe,bkhe->bhqk", q_BxNxHxE, k_BxNxHxE) * hd ** -0.5
    attn_BxHxNxN = jax.nn.softmax(logits_BxHxNxN.astype(jnp.float32), axis=-1).astype(self.dtype)
    y = jnp.einsum("bhqk,bkhe->bqhe", attn_BxHxNxN, v_BxNxHxE).reshape(b, n, d)
    y = nn.Dense(d, dtype=self.dtype, name="proj")(y)
    x_BxNxD = x_BxNxD + DropPath(self.drop_path)(y, deterministic=not train)
    y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="norm2")(x_BxNxD)
    y = nn.silu(nn.Dense(int(d * self.mlp_ratio), dtype=self.dtype, name="fc1")(y))
    y = nn.Dense(d, dtype=self.dtype, name="fc2")(y)
    return x_BxNxD + DropPath(self.drop_path)(y, deterministic=not train)


class MobileViTBlock(nn.Module):
  """Local 3x3 conv, global attention among same-offset pixels of 2x2 patches, fusion."""
  transformer_dim: int
  depth: int
  patch: int = 2
  num_heads: int = 4
  mlp_ratio: float = 2.0
  drop_path: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    b, hh, ww, c = x_BxHxWxC.shape
    p, d = self.patch, self.transformer_dim
    bn = lambda name: batch_norm(train, dtype=self.dtype, name=name)
    y = nn.silu(bn("conv_kxk_bn")(conv(c, 3, dtype=self.dtype, name="conv_kxk")(x_BxHxWxC)))
    y = conv(d, 1, dtype=self.dtype, name="conv_1x1")(y)
    # Unfold: B x H x W x D -> (B * P) x N x D, P = p*p offsets, N = patches (timm order).
    nh, nw = -(-hh // p), -(-ww // p)
    if (nh * p, nw * p) != (hh, ww):
      y = jax.image.resize(y, (b, nh * p, nw * p, d), "bilinear", antialias=False)
    y = y.reshape(b, nh, p, nw, p, d).transpose(0, 2, 4, 1, 3, 5).reshape(b * p * p, nh * nw, d)
    for i in range(self.depth):
      y = TransformerLayer(self.num_heads, self.mlp_ratio, self.drop_path, self.dtype,
                           name=f"transformer{i}")(y, train)
    y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="norm")(y)
    y = y.reshape(b, p, p, nh, nw, d).transpose(0, 3, 1, 4, 2, 5).reshape(b, nh * p, nw * p, d)
    if (nh * p, nw * p) != (hh, ww):
      y = jax.image.resize(y, (b, hh, ww, d), "bilinear", antialias=False)
    y = nn.silu(bn("conv_proj_bn")(conv(c, 1, dtype=self.dtype, name="conv_proj")(y)))
    y = jnp.concatenate([x_BxHxWxC, y], axis=-1)
    return nn.silu(bn("conv_fusion_bn")(conv(c, 3, dtype=self.dtype, name="conv_fusion")(y)))


class MobileViT(nn.Module):
  """Trunk. Returns {"features": B x 640, "feature_map": B x H/32 x W/32 x 640}.
  `drop_path` (timm drop_path_rate, default 0) rises linearly over the 10 blocks and
  is applied only on identity residuals."""
  stages: Sequence[tuple] = MOBILEVIT_S_STAGES
  stem_channels: int = 16
  num_features: int = 640
  drop_path: float = 0.0
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> dict[str, jax.Array]:
    bn = lambda name: batch_norm(train, dtype=self.dtype, name=name)
    x = conv(self.stem_channels, 3, 2, dtype=self.dtype, name="stem_conv")(x_BxHxWxC.astype(self.dtype))
    x = nn.silu(bn("stem_bn")(x))
    total = sum(n + (dim is not None) for _, _, n, dim, _ in self.stages)
    block_id = 0
    rate = lambda: self.drop_path * block_id / max(total - 1, 1)
    for i, (out, stride, n, dim, depth) in enumerate(self.stages):
      for j in range(n):
        x = InvertedResidual(out, stride if j == 0 else 1, drop_path=rate(), dtype=self.dtype,
                             name=f"stage{i}_{j}")(x, train)
        block_id += 1
      if dim is not None:
        x = MobileViTBlock(dim, depth, drop_path=rate(), dtype=self.dtype,
                           name=f"stage{i}_mobilevit")(x, train)
        block_id += 1
    x = nn.silu(bn("final_bn")(conv(self.num_features, 1, dtype=self.dtype, name="final_conv")(x)))
    return {"features": jnp.mean(x, axis=(1, 2)), "feature_map": x}


def mobilevit_s(**kwargs: Any) -> MobileViT:
  return MobileViT(stages=MOBILEVIT_S_STAGES, **kwargs)

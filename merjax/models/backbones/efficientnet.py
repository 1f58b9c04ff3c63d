"""EfficientNet-B0 and EfficientNetV2-S as torchvision builds them (`_efficientnet_conf`):
MBConv (1x1 expand -> depthwise kxk -> squeeze-excitation -> 1x1 project) and, for V2,
Fused-MBConv (kxk expand -> 1x1 project); SiLU; stochastic depth 0.2 rising linearly over
the blocks; BN momentum 0.1 (torch), eps 1e-5 (B0) / 1e-3 (V2); Dropout 0.2 + Linear head.
5,288,548 / 21,458,488 params with 1000 classes."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, conv
from merjax.models.layers import DropPath, batch_norm

# (block, expand_ratio, kernel, stride, in_channels, out_channels, num_layers)
B0_BLOCKS = (
    ("mbconv", 1, 3, 1, 32, 16, 1),
    ("mbconv", 6, 3, 2, 16, 24, 2),
    ("mbconv", 6, 5, 2, 24, 40, 2),
    ("mbconv", 6, 3, 2, 40, 80, 3),
    ("mbconv", 6, 5, 1, 80, 112, 3),
    ("mbconv", 6, 5, 2, 112, 192, 4),
    ("mbconv", 6, 3, 1, 192, 320, 1),
)
V2_S_BLOCKS = (
    ("fused", 1, 3, 1, 24, 24, 2),
    ("fused", 4, 3, 2, 24, 48, 4),
    ("fused", 4, 3, 2, 48, 64, 4),
    ("mbconv", 4, 3, 2, 64, 128, 6),
    ("mbconv", 6, 3, 1, 128, 160, 9),
    ("mbconv", 6, 3, 2, 160, 256, 15),
)


def make_divisible(v: float, divisor: int = 8) -> int:
  """torchvision `_make_divisible`: round to a multiple of 8, never down by more than 10%."""
  new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
  return new_v + divisor if new_v < 0.9 * v else new_v


class MBConv(nn.Module):
  """Inverted residual with squeeze-excitation (squeeze = max(1, in // 4))."""
  expand_ratio: float
  kernel: int
  stride: int
  out_channels: int
  drop_path: float = 0.0
  bn_eps: float = 1e-5
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    c_in = x_BxHxWxC.shape[-1]
    c_exp = make_divisible(c_in * self.expand_ratio)
    bn = lambda name: batch_norm(train, self.bn_eps, self.dtype, name=name)
    y = x_BxHxWxC
    if c_exp != c_in:
      y = nn.silu(bn("expand_bn")(conv(c_exp, 1, dtype=self.dtype, name="expand_conv")(y)))
    y = conv(c_exp, self.kernel, self.stride, groups=c_exp, dtype=self.dtype, name="dw_conv")(y)
    y = nn.silu(bn("dw_bn")(y))
    # Squeeze-excitation: 1x1 convs with bias on the pooled vector.
    s_BxE = jnp.mean(y, axis=(1, 2))
    s_BxS = nn.silu(nn.Dense(max(1, c_in // 4), dtype=self.dtype, name="se_reduce")(s_BxE))
    s_BxE = nn.sigmoid(nn.Dense(c_exp, dtype=self.dtype, name="se_expand")(s_BxS))
    y = y * s_BxE[:, None, None, :]
    y = bn("project_bn")(conv(self.out_channels, 1, dtype=self.dtype, name="project_conv")(y))
    if self.stride == 1 and c_in == self.out_channels:
      y = DropPath(self.drop_path)(y, deterministic=not train) + x_BxHxWxC
    return y


class FusedMBConv(nn.Module):
  """EfficientNetV2 Fused-MBConv: kxk expand conv (or a single kxk conv when ratio 1), no SE."""
  expand_ratio: float
  kernel: int
  stride: int
  out_channels: int
  drop_path: float = 0.0
  bn_eps: float = 1e-5
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    c_in = x_BxHxWxC.shape[-1]
    c_exp = make_divisible(c_in * self.expand_ratio)
    bn = lambda name: batch_norm(train, self.bn_eps, self.dtype, name=name)
    if c_exp != c_in:
      y = conv(c_exp, self.kernel, self.stride, dtype=self.dtype, name="expand_conv")(x_BxHxWxC)
      y = nn.silu(bn("expand_bn")(y))
      y = bn("project_bn")(conv(self.out_channels, 1, dtype=self.dtype, name="project_conv")(y))
    else:
      y = conv(self.out_channels, self.kernel, self.stride, dtype=self.dtype, name="conv")(x_BxHxWxC)
      y = nn.silu(bn("bn")(y))
    if self.stride == 1 and c_in == self.out_channels:
      y = DropPath(self.drop_path)(y, deterministic=not train) + x_BxHxWxC
    return y


class EfficientNet(nn.Module):
  """Trunk: 3x3/2 stem -> block table -> 1x1 conv to `last_channel` (default 4 x last out)
  -> global average. Returns {"features": B x 1280, "feature_map": B x H/32 x W/32 x 1280}."""
  blocks: Sequence[tuple] = B0_BLOCKS
  last_channel: int | None = None
  drop_path: float = 0.2       # stochastic depth, rising linearly over the blocks
  bn_eps: float = 1e-5
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> dict[str, jax.Array]:
    x = conv(self.blocks[0][4], 3, 2, dtype=self.dtype, name="stem_conv")(x_BxHxWxC.astype(self.dtype))
    x = nn.silu(batch_norm(train, self.bn_eps, self.dtype, name="stem_bn")(x))
    total = sum(b[-1] for b in self.blocks)
    block_id = 0
    for i, (kind, expand, kernel, stride, _, out, layers) in enumerate(self.blocks):
      cls = FusedMBConv if kind == "fused" else MBConv
      for j in range(layers):
        x = cls(expand, kernel, stride if j == 0 else 1, out,
                drop_path=self.drop_path * block_id / total, bn_eps=self.bn_eps,
                dtype=self.dtype, name=f"stage{i}_{j}")(x, train)
        block_id += 1
    last = self.last_channel or 4 * self.blocks[-1][5]
    x = conv(last, 1, dtype=self.dtype, name="head_conv")(x)
    x = nn.silu(batch_norm(train, self.bn_eps, self.dtype, name="head_bn")(x))
    return {"features": jnp.mean(x, axis=(1, 2)), "feature_map": x}


def efficientnet_b0(**kwargs: Any) -> EfficientNet:
  return EfficientNet(blocks=B0_BLOCKS, last_channel=None, bn_eps=1e-5, **kwargs)


def efficientnetv2_s(**kwargs: Any) -> EfficientNet:
  return EfficientNet(blocks=V2_S_BLOCKS, last_channel=1280, bn_eps=1e-3, **kwargs)

"""ResNet18 / ResNet50 as torchvision builds them (ResNet v1.5: in a Bottleneck the
stride sits on the 3x3 conv; BN after every conv; no conv bias; 1x1 conv + BN projection
shortcut when the shape changes). 11,689,512 / 25,557,032 params with 1000 classes."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, conv
from merjax.models.layers import batch_norm


class BasicBlock(nn.Module):
  """3x3 -> BN -> ReLU -> 3x3 -> BN, + shortcut, ReLU (expansion 1)."""
  features: int
  stride: int = 1
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    y = conv(self.features, 3, self.stride, dtype=self.dtype, name="conv1")(x_BxHxWxC)
    y = nn.relu(batch_norm(train, dtype=self.dtype, name="bn1")(y))
    y = conv(self.features, 3, dtype=self.dtype, name="conv2")(y)
    y = batch_norm(train, dtype=self.dtype, name="bn2")(y)
    shortcut = x_BxHxWxC
    if self.stride != 1 or x_BxHxWxC.shape[-1] != self.features:
      shortcut = conv(self.features, 1, self.stride, dtype=self.dtype, name="downsample_conv")(shortcut)
      shortcut = batch_norm(train, dtype=self.dtype, name="downsample_bn")(shortcut)
    return nn.relu(y + shortcut)


class Bottleneck(nn.Module):
  """1x1 -> 3x3 (stride here, v1.5) -> 1x1 (x4 channels), BN after each, + shortcut."""
  features: int
  stride: int = 1
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    out = 4 * self.features
    y = conv(self.features, 1, dtype=self.dtype, name="conv1")(x_BxHxWxC)
    y = nn.relu(batch_norm(train, dtype=self.dtype, name="bn1")(y))
    y = conv(self.features, 3, self.stride, dtype=self.dtype, name="conv2")(y)
    y = nn.relu(batch_norm(train, dtype=self.dtype, name="bn2")(y))
    y = conv(out, 1, dtype=self.dtype, name="conv3")(y)
    y = batch_norm(train, dtype=self.dtype, name="bn3")(y)
    shortcut = x_BxHxWxC
    if self.stride != 1 or x_BxHxWxC.shape[-1] != out:
      shortcut = conv(out, 1, self.stride, dtype=self.dtype, name="downsample_conv")(shortcut)
      shortcut = batch_norm(train, dtype=self.dtype, name="downsample_bn")(shortcut)
    return nn.relu(y + shortcut)


class ResNet(nn.Module):
  """Trunk: 7x7/2 conv -> BN -> ReLU -> 3x3/2 max-pool -> 4 stages -> global average.
  Returns {"features": B x D (512 or 2048), "feature_map": B x H/32 x W/32 x D}."""
  stage_sizes: Sequence[int] = (2, 2, 2, 2)
  bottleneck: bool = False
  widths: Sequence[int] = (64, 128, 256, 512)
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> dict[str, jax.Array]:
    block = Bottleneck if self.bottleneck else BasicBlock
    x = conv(self.widths[0], 7, 2, padding=3, dtype=self.dtype, name="conv1")(x_BxHxWxC.astype(self.dtype))
    x = nn.relu(batch_norm(train, dtype=self.dtype, name="bn1")(x))
    x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for i, (n, width) in enumerate(zip(self.stage_sizes, self.widths)):
      for j in range(n):
        stride = 2 if (i > 0 and j == 0) else 1
        x = block(width, stride, dtype=self.dtype, name=f"layer{i + 1}_{j}")(x, train)
    return {"features": jnp.mean(x, axis=(1, 2)), "feature_map": x}


def resnet18(**kwargs: Any) -> ResNet:
  return ResNet(stage_sizes=(2, 2, 2, 2), bottleneck=False, **kwargs)


def resnet50(**kwargs: Any) -> ResNet:
  return ResNet(stage_sizes=(3, 4, 6, 3), bottleneck=True, **kwargs)

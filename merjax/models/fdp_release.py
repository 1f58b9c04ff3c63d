"""FDP exactly as the authors' released PyTorch code builds it (`CYF-cuber/FDP`, `fdp.py`).

Frame encoder: 4-conv stem 1->64->32->64->64, 20 LFA blocks (3x96, 4x192, 10x384, 3x768; the
GFA/attention blocks are never instantiated by the release), BN + global average pool + Linear 768->4096.
`CLS_Net`: the (B, 8, 4096) frame features reshaped WITHOUT a permute to a 64 x 64 x 8 volume (so the
3-D conv mixes features, not time), Conv3d 1->8 kernel (3, 3, 8), MaxPool3d (3, 3, 1), FC 3528->256->K.
Decoder: VGG16-SegNet(8 -> 1) with max-unpooling, sigmoid. No rank scorer.

Layer biases follow the release (convs in SegNet have a bias before their BN), not the merjax
"no bias before BN" rule: the release parameter count (85,304,206 for 5 classes) needs them.
Layout is NHWC / NDHWC; see docs/fdp.md for how the PyTorch reshape maps onto it.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.fdp import ConvStem
from merjax.models.layers import DropPath, batch_norm

Array = jax.Array

_ENC_INIT = nn.initializers.truncated_normal(stddev=0.02)  # timm trunc_normal_(std=.02)
# PyTorch's default Conv/Linear weight init: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)).
_TORCH_W = nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _torch_bias(fan_in: int):
  """PyTorch's default bias init U(+-1/sqrt(fan_in))."""
  bound = 1.0 / math.sqrt(fan_in)
  return lambda key, shape, dtype=jnp.float32: jax.random.uniform(
      key, shape, dtype, -bound, bound)


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
  """Next-ViT's `_make_divisible` (round to a multiple, never more than 10% down)."""
  min_value = divisor if min_value is None else min_value
  new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
  if new_v < 0.9 * v:
    new_v += divisor
  return new_v


def _avg_pool_2x2_ceil(x_BxHxWxC: Array) -> Array:
  """AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)."""
  h, w = x_BxHxWxC.shape[1:3]
  pad = ((0, 0), (0, h % 2), (0, w % 2), (0, 0))
  ones = jnp.ones((1, h, w, 1), x_BxHxWxC.dtype)
  s = nn.avg_pool(jnp.pad(x_BxHxWxC, pad), (2, 2), (2, 2))
  n = nn.avg_pool(jnp.pad(ones, pad), (2, 2), (2, 2))
  return s / n


class LFABlock(nn.Module):
  """Released LFA: patch embed; x + DropPath(dense 3x3 conv); x + DropPath(MLP(BN(x)))."""
  width: int
  stride: int = 1
  drop_path: float = 0.0
  mlp_ratio: float = 3.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    x = x_BxHxWxC
    # Patch embedding.
    if self.stride == 2:
      x = _avg_pool_2x2_ceil(x)
    if self.stride == 2 or x.shape[-1] != self.width:
      x = nn.Conv(self.width, (1, 1), use_bias=False, kernel_init=_ENC_INIT,
                  dtype=self.dtype, name="pe_conv")(x)
      x = batch_norm(train, dtype=self.dtype, name="pe_bn")(x)
    # "MHCA" as released: a single dense 3x3 conv, no bias/BN/ReLU/projection.
    y = nn.Conv(self.width, (3, 3), padding=((1, 1), (1, 1)), use_bias=False,
                kernel_init=_ENC_INIT, dtype=self.dtype, name="mhca")(x)
    x = x + DropPath(self.drop_path)(y, deterministic=not train)
    # MLP on BN(x), 1x1 convs with bias, ReLU, dropout 0 (omitted).
    hidden = make_divisible(self.width * self.mlp_ratio, 32)
    y = batch_norm(train, dtype=self.dtype, name="norm")(x)
    y = nn.Conv(hidden, (1, 1), kernel_init=_ENC_INIT, dtype=self.dtype, name="mlp1")(y)
    y = nn.Conv(self.width, (1, 1), kernel_init=_ENC_INIT, dtype=self.dtype,
                name="mlp2")(nn.relu(y))
    return x + DropPath(self.drop_path)(y, deterministic=not train)


class ReleaseEncoder(nn.Module):
  """Released frame encoder: stem, 20 LFA blocks, BN + GAP + Linear -> frame feature F_k."""
  stem_widths: Sequence[int] = (64, 32, 64, 64)
  depths: Sequence[int] = (3, 4, 10, 3)
  widths: Sequence[int] = (96, 192, 384, 768)
  strides: Sequence[int] = (1, 2, 2, 2)
  drop_path: float = 0.1
  feature_dim: int = 4096
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    # The release's stem: four Conv3x3(no bias)-BN-ReLU, strides 2, 1, 1, 2.
    x = ConvStem(self.stem_widths, kernel_init=_ENC_INIT, dtype=self.dtype,
                 name="stem")(x_BxHxWxC, train)
    n = sum(self.depths)
    rates = [self.drop_path * i / max(n - 1, 1) for i in range(n)]  # linspace(0, p, n)
    idx = 0
    for stage, (depth, width) in enumerate(zip(self.depths, self.widths)):
      for b in range(depth):
        stride = self.strides[stage] if b == 0 else 1
        x = LFABlock(width, stride, rates[idx], dtype=self.dtype,
                     name=f"stage{stage + 1}_block{b + 1}")(x, train)
        idx += 1
    x = batch_norm(train, dtype=self.dtype, name="norm")(x)
    x_BxC = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.feature_dim, kernel_init=_ENC_INIT, dtype=self.dtype,
                    name="proj_head")(x_BxC)


def max_pool_2x2_with_mask(x_BxHxWxC: Array) -> tuple[Array, Array]:
  """2x2/2 max pool plus a one-hot mask of the (first) argmax in each window (even H, W)."""
  b, h, w, c = x_BxHxWxC.shape
  assert h % 2 == 0 and w % 2 == 0, f"SegNet needs even spatial sizes, got {h}x{w}"
  win = x_BxHxWxC.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4)
  win = win.reshape(b, h // 2, w // 2, c, 4)
  arg = jnp.argmax(win, axis=-1)
  mask = jax.nn.one_hot(arg, 4, dtype=x_BxHxWxC.dtype)
  return jnp.max(win, axis=-1), mask


def max_unpool_2x2(x_BxhxwxC: Array, mask_Bxhxwxcx4: Array) -> Array:
  """Inverse of `max_pool_2x2_with_mask` (zeros except at the stored argmax)."""
  b, h, w, c = x_BxhxwxC.shape
  y = x_BxhxwxC[..., None] * mask_Bxhxwxcx4
  y = y.reshape(b, h, w, c, 2, 2).transpose(0, 1, 4, 2, 5, 3)
  return y.reshape(b, 2 * h, 2 * w, c)


class SegNet(nn.Module):
  """VGG16-SegNet as released: conv(bias)+BN+ReLU stages 2,2,3,3,3; max-pool/unpool."""
  out_channels: int = 1
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    def conv(x, out, name):
      fan_in = 9 * x.shape[-1]
      return nn.Conv(out, (3, 3), padding=((1, 1), (1, 1)), kernel_init=_TORCH_W,
                     bias_init=_torch_bias(fan_in), dtype=self.dtype, name=name)(x)

    def cbr(x, out, name):
      return nn.relu(batch_norm(train, dtype=self.dtype, name="bn" + name)(conv(x, out, "conv" + name)))

    enc = [(64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)]
    dec = [(512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64,)]
    x, masks = x_BxHxWxC, []
    for s, widths in enumerate(enc, start=1):
      for j, w in enumerate(widths, start=1):
        x = cbr(x, w, f"{s}{j}")
      x, m = max_pool_2x2_with_mask(x)
      masks.append(m)
    for s, widths in zip(range(5, 0, -1), dec):
      x = max_unpool_2x2(x, masks[s - 1])
      for j, w in zip(range(len(enc[s - 1]), 0, -1), widths):
        x = cbr(x, w, f"{s}{j}d")
    return conv(x, self.out_channels, "conv11d")


class FDPRelease(nn.Module):
  """Released FDP: per-frame encoder -> raw reshape -> Conv3d -> {MER head, SegNet DI}."""
  num_classes: int = 5
  stem_widths: Sequence[int] = (64, 32, 64, 64)
  depths: Sequence[int] = (3, 4, 10, 3)
  widths: Sequence[int] = (96, 192, 384, 768)
  drop_path: float = 0.1
  feature_dim: int = 4096       # must be a square: the release views it as 64 x 64
  temporal_channels: int = 8
  mer_hidden: int = 256
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch: dict[str, Array], train: bool) -> dict[str, Array]:
    frames_BxTxHxWxC = jnp.asarray(batch["frames"], self.dtype)
    b, t = frames_BxTxHxWxC.shape[:2]
    side = math.isqrt(self.feature_dim)
    assert side * side == self.feature_dim, "feature_dim must be a perfect square"
    encoder = ReleaseEncoder(self.stem_widths, self.depths, self.widths,
                             drop_path=self.drop_path, feature_dim=self.feature_dim,
                             dtype=self.dtype, name="frame_rep")
    # The release loops over frames: per-frame BN batch statistics, T running-stat updates.
    feats_BxTxD = jnp.stack(
        [encoder(frames_BxTxHxWxC[:, k], train) for k in range(t)], axis=1)
    # torch: reshape(-1, 1, 64, 64, 8) of (B, 8, 4096), NCDHW with D=H=64, W=8 (=T) and C=1.
    # Same memory order in NDHWC: (B, 64, 64, T, 1); the W axis holds T consecutive features.
    vol_BxDxHxWx1 = feats_BxTxD.reshape(b, side, side, t, 1)
    # Conv3d 1->8, kernel (3, 3, T), padding (1, 1, 0): the W axis collapses to 1.
    feat_BxDxHx1xF = nn.Conv(
        self.temporal_channels, (3, 3, t), padding=((1, 1), (1, 1), (0, 0)),
        kernel_init=_TORCH_W, bias_init=_torch_bias(9 * t), dtype=self.dtype,
        name="conv3d")(vol_BxDxHxWx1)
    # MaxPool3d (3, 3, 1), floor mode; flatten in torch's (C, D, H, W) order.
    pooled = nn.max_pool(feat_BxDxHx1xF, (3, 3, 1), strides=(3, 3, 1))
    flat_BxN = pooled.transpose(0, 4, 1, 2, 3).reshape(b, -1)
    h = nn.Dense(self.mer_hidden, kernel_init=_TORCH_W,
                 bias_init=_torch_bias(flat_BxN.shape[-1]), dtype=self.dtype,
                 name="fc1")(flat_BxN)
    logits_BxK = nn.Dense(self.num_classes, kernel_init=_TORCH_W,
                          bias_init=_torch_bias(self.mer_hidden), dtype=self.dtype,
                          name="fc2")(nn.relu(h))
    # torch y[..., 0]: (B, 8, 64, 64) NCHW == (B, 64, 64, 8) NHWC.
    di_in_BxHxWxF = feat_BxDxHx1xF[:, :, :, 0, :]
    di_BxHxWx1 = SegNet(1, dtype=self.dtype, name="dyimg_net")(di_in_BxHxWxF, train)
    return {
        "logits": logits_BxK.astype(jnp.float32),
        "dynamic_image": jax.nn.sigmoid(di_BxHxWx1.astype(jnp.float32)),
        "frame_features": feats_BxTxD.astype(jnp.float32),
    }

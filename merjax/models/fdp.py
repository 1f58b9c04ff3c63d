"""FDP (Fine-grained Dynamic Perception) as the paper describes it (seed 002, Sec. 3).

Per frame: local-global feature-aware transformer (conv stem; N_S stages, each a patch embedding,
N_L local relational aggregators and N_G global relational aggregators; head BN + GAP) -> F_k.
Rank scorer S(F_k) = u . F_k. Temporal pooling: each F_k viewed as a 2-D map, maps stacked in time
order, one 3-D conv over (time, h, w) -> dynamic representation F^(d). MER head: max-pool, two FC.
Dynamic-image construction: conv encoder-decoder with additive skips and a sigmoid.

Every default the paper leaves open is ours and is listed in docs/fdp.md.
For the authors' released network (a different architecture) see `fdp_release.py`.
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models import layers
from merjax.models.layers import DropPath, batch_norm

Array = jax.Array


def _residual(rate: float, x: Array, y: Array, train: bool) -> Array:
  """x + DropPath(y): whole samples of the branch y dropped, survivors scaled by 1/(1-rate)."""
  return x + DropPath(rate)(y, deterministic=not train)


class ConvStem(nn.Module):
  """Conv3x3 (no bias) + BN + ReLU per entry of `widths`/`strides` (FDP's and its release's)."""
  widths: Sequence[int] = (64, 32, 64, 64)
  strides: Sequence[int] = (2, 1, 1, 2)
  dtype: Any = jnp.float32
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    x = x_BxHxWxC
    for w, s in zip(self.widths, self.strides):
      x = nn.Conv(w, (3, 3), (s, s), padding=((1, 1), (1, 1)), use_bias=False,
                  kernel_init=self.kernel_init, dtype=self.dtype)(x)
      x = nn.relu(batch_norm(train, dtype=self.dtype)(x))
    return x


class PatchEmbed(nn.Module):
  """Stride 2: 2x2 avg-pool + 1x1 conv + BN; width change: 1x1 conv + BN; else identity."""
  width: int
  stride: int = 1
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    x = x_BxHxWxC
    if self.stride > 1:
      x = nn.avg_pool(x, (self.stride, self.stride), (self.stride, self.stride))
    if self.stride > 1 or x.shape[-1] != self.width:
      x = nn.Conv(self.width, (1, 1), use_bias=False, dtype=self.dtype)(x)
      x = batch_norm(train, dtype=self.dtype)(x)
    return x


CONV_MODES = ("multihead", "single", "vanilla")


class MultiHeadConv(nn.Module):
  """h single-head conv blocks (3x3 conv + BN + ReLU on C/h channels each), concatenated, then a
  pointwise conv. The h per-head convs are one grouped conv (h groups), computed as a batched
  patch GEMM (`layers.PatchConv`; same parameters and output as nn.Conv with
  feature_group_count=h, much faster to differentiate on the CPU).
  mode (paper Table 10): "multihead" (C*, default), "single" (C': one head, conv + BN + ReLU +
  pointwise), "vanilla" (C: one dense 3x3 conv only)."""
  head_dim: int = 8
  kernel_size: int = 3
  dtype: Any = jnp.float32
  mode: str = "multihead"

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    c = x_BxHxWxC.shape[-1]
    assert self.mode in CONV_MODES, f"conv mode {self.mode} not in {CONV_MODES}"
    k = self.kernel_size
    if self.mode == "vanilla":
      return nn.Conv(c, (k, k), padding=((k // 2, k // 2),) * 2, use_bias=False,
                     dtype=self.dtype, name="head_convs")(x_BxHxWxC)
    groups = 1 if self.mode == "single" else c // self.head_dim
    assert self.mode == "single" or c % self.head_dim == 0, (
        f"width {c} not divisible by head_dim {self.head_dim}")
    x = layers.PatchConv(c, (k, k), k // 2, groups=groups, use_bias=False, dtype=self.dtype,
                         name="head_convs")(x_BxHxWxC)
    x = nn.relu(batch_norm(train, dtype=self.dtype, name="head_bn")(x))
    return nn.Conv(c, (1, 1), use_bias=False, dtype=self.dtype, name="pointwise")(x)


class Mlp(nn.Module):
  """1x1 conv -> ReLU -> dropout -> 1x1 conv -> dropout."""
  ratio: float = 3.0
  dropout: float = 0.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    c = x_BxHxWxC.shape[-1]
    x = nn.Conv(max(1, int(round(c * self.ratio))), (1, 1), dtype=self.dtype)(x_BxHxWxC)
    x = nn.Dropout(self.dropout)(nn.relu(x), deterministic=not train)
    x = nn.Conv(c, (1, 1), dtype=self.dtype)(x)
    return nn.Dropout(self.dropout)(x, deterministic=not train)


class LocalAggregator(nn.Module):
  """Local relational aggregator: x + MHConv(x); x + MLP(BN(x))."""
  head_dim: int = 8
  mlp_ratio: float = 3.0
  drop_path: float = 0.0
  dropout: float = 0.0
  dtype: Any = jnp.float32
  conv_mode: str = "multihead"

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    x = x_BxHxWxC
    mhc = MultiHeadConv(self.head_dim, dtype=self.dtype, mode=self.conv_mode)
    x = _residual(self.drop_path, x, mhc(x, train), train)
    y = batch_norm(train, dtype=self.dtype)(x)
    y = Mlp(self.mlp_ratio, self.dropout, dtype=self.dtype)(y, train)
    return _residual(self.drop_path, x, y, train)


class GlobalAggregator(nn.Module):
  """Global relational aggregator: pointwise conv (+BN); x + MHSA(BN(x)); x + MHConv(x);
  x + MLP(BN(x)). MHSA: per-head Q/K/V, softmax(QK^T / sqrt(head_dim)) V, output FC."""
  attn_head_dim: int = 8
  conv_head_dim: int = 8
  mlp_ratio: float = 2.0
  drop_path: float = 0.0
  dropout: float = 0.0
  attn_dropout: float = 0.0
  dtype: Any = jnp.float32
  conv_mode: str = "multihead"

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    b, h, w, c = x_BxHxWxC.shape
    assert c % self.attn_head_dim == 0, f"width {c} not divisible by {self.attn_head_dim}"
    x = nn.Conv(c, (1, 1), use_bias=False, dtype=self.dtype, name="pointwise")(x_BxHxWxC)
    x = batch_norm(train, dtype=self.dtype, name="pointwise_bn")(x)
    tokens_BxNxC = batch_norm(train, dtype=self.dtype, name="attn_bn")(x).reshape(b, h * w, c)
    attn_BxNxC = nn.MultiHeadDotProductAttention(
        num_heads=c // self.attn_head_dim, qkv_features=c, out_features=c,
        dropout_rate=self.attn_dropout, deterministic=not train, dtype=self.dtype,
        name="mhsa")(tokens_BxNxC, tokens_BxNxC)
    attn_BxNxC = nn.Dropout(self.dropout)(attn_BxNxC, deterministic=not train)
    x = _residual(self.drop_path, x, attn_BxNxC.reshape(b, h, w, c), train)
    mhc = MultiHeadConv(self.conv_head_dim, dtype=self.dtype, mode=self.conv_mode)
    x = _residual(self.drop_path, x, mhc(x, train), train)
    y = batch_norm(train, dtype=self.dtype, name="mlp_bn")(x)
    y = Mlp(self.mlp_ratio, self.dropout, dtype=self.dtype)(y, train)
    return _residual(self.drop_path, x, y, train)


class FrameEncoder(nn.Module):
  """Local-global feature-aware transformer: stem, N_S = len(widths) stages of PE + N_L local +
  N_G global aggregators, head BN + GAP, then (our choice) Dense -> `feature_dim`."""
  stem_widths: Sequence[int] = (64, 32, 64, 64)
  stem_strides: Sequence[int] = (2, 1, 1, 2)
  widths: Sequence[int] = (96, 192, 384, 768)
  strides: Sequence[int] = (1, 2, 2, 2)
  num_local: int = 2            # N_L
  num_global: int = 1           # N_G
  use_local: bool = True
  use_global: bool = True
  conv_head_dim: int = 8
  attn_head_dim: int = 8
  mlp_ratio_local: float = 3.0
  mlp_ratio_global: float = 2.0
  drop_path: float = 0.1
  dropout: float = 0.0
  attn_dropout: float = 0.0
  feature_dim: int = 4096       # 0: no projection, F_k is the GAP output
  dtype: Any = jnp.float32
  conv_mode: str = "multihead"  # MultiHeadConv mode (Table 10: C*, C', C)

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    x = ConvStem(self.stem_widths, self.stem_strides, self.dtype, name="stem")(x_BxHxWxC, train)
    n_l = self.num_local if self.use_local else 0
    n_g = self.num_global if self.use_global else 0
    n = len(self.widths) * (n_l + n_g)
    rates = [self.drop_path * i / max(n - 1, 1) for i in range(n)]  # linspace(0, p, n)
    i = 0
    for s, (width, stride) in enumerate(zip(self.widths, self.strides), start=1):
      x = PatchEmbed(width, stride, self.dtype, name=f"stage{s}_pe")(x, train)
      for j in range(n_l):
        x = LocalAggregator(self.conv_head_dim, self.mlp_ratio_local, rates[i], self.dropout,
                            self.dtype, self.conv_mode, name=f"stage{s}_local{j + 1}")(x, train)
        i += 1
      for j in range(n_g):
        x = GlobalAggregator(self.attn_head_dim, self.conv_head_dim, self.mlp_ratio_global,
                             rates[i], self.dropout, self.attn_dropout, self.dtype,
                             self.conv_mode, name=f"stage{s}_global{j + 1}")(x, train)
        i += 1
    x_BxC = jnp.mean(batch_norm(train, dtype=self.dtype, name="head_bn")(x), axis=(1, 2))
    if self.feature_dim:
      x_BxC = nn.Dense(self.feature_dim, dtype=self.dtype, name="proj")(x_BxC)
    return x_BxC


class TemporalPooling(nn.Module):
  """F_k -> (h, w) map; maps stacked in time order; 3-D conv with kernel (T, k, k), no temporal
  padding, so time collapses: B x T x D -> F^(d) B x h x w x channels."""
  channels: int = 8
  kernel_size: int = 3
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, feats_BxTxD: Array) -> Array:
    b, t, d = feats_BxTxD.shape
    side = math.isqrt(d)
    assert side * side == d, f"frame feature size {d} is not a square"
    vol_BxTxhxwx1 = feats_BxTxD.reshape(b, t, side, side, 1)
    k = self.kernel_size
    y = nn.Conv(self.channels, (t, k, k), padding=((0, 0), (k // 2, k // 2), (k // 2, k // 2)),
                dtype=self.dtype)(vol_BxTxhxwx1)
    return y[:, 0]


class MERHead(nn.Module):
  """Max-pool (pool x pool, stride pool) -> flatten -> FC -> ReLU -> FC (logits)."""
  num_classes: int
  hidden: int = 256
  pool: int = 3
  dropout: float = 0.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, fd_BxhxwxC: Array, train: bool) -> Array:
    p = self.pool
    x = nn.max_pool(fd_BxhxwxC, (p, p), (p, p)).reshape(fd_BxhxwxC.shape[0], -1)
    x = nn.relu(nn.Dense(self.hidden, dtype=self.dtype)(x))
    x = nn.Dropout(self.dropout)(x, deterministic=not train)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x)


class DynamicImageNet(nn.Module):
  """Encoder (conv+BN+LeakyReLU, max-pool) x len(widths); decoder (2x2/2 deconvolution, add the
  encoder block's pre-pool map, conv+BN+LeakyReLU) x len(widths); 1x1 conv; sigmoid."""
  widths: Sequence[int] = (64, 128, 256, 512)
  kernel_size: int = 3
  negative_slope: float = 0.01
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: Array, train: bool) -> Array:
    k = self.kernel_size
    pad = ((k // 2, k // 2),) * 2

    def cbl(x, out, name):
      x = nn.Conv(out, (k, k), padding=pad, use_bias=False, dtype=self.dtype, name=name)(x)
      return nn.leaky_relu(batch_norm(train, dtype=self.dtype, name=name + "_bn")(x), self.negative_slope)

    n = len(self.widths)
    h, w = x_BxHxWxC.shape[1:3]
    assert h % 2 ** n == 0 and w % 2 ** n == 0, f"{h}x{w} not divisible by {2 ** n}"
    x, skips = x_BxHxWxC, []
    for i, width in enumerate(self.widths):
      x = cbl(x, width, f"enc{i + 1}")
      skips.append(x)
      x = nn.max_pool(x, (2, 2), (2, 2))
    for i in reversed(range(n)):
      x = nn.ConvTranspose(self.widths[i], (2, 2), (2, 2), dtype=self.dtype, name=f"up{i + 1}")(x)
      x = cbl(x + skips[i], self.widths[max(i - 1, 0)], f"dec{i + 1}")
    x = nn.Conv(1, (1, 1), dtype=self.dtype, name="out")(x)
    return jax.nn.sigmoid(x.astype(jnp.float32))


class FDP(nn.Module):
  """Paper FDP. batch["frames"]: B x T x H x W x C. Returns logits (B x K), dynamic_image
  (B x H x W x 1, in (0, 1); if use_dic) and rank_scores (B x T; if use_rank)."""
  num_classes: int = 5
  # Frame encoder (see FrameEncoder).
  stem_widths: Sequence[int] = (64, 32, 64, 64)
  stem_strides: Sequence[int] = (2, 1, 1, 2)
  widths: Sequence[int] = (96, 192, 384, 768)
  strides: Sequence[int] = (1, 2, 2, 2)
  num_local: int = 2
  num_global: int = 1
  conv_head_dim: int = 8
  attn_head_dim: int = 8
  mlp_ratio_local: float = 3.0
  mlp_ratio_global: float = 2.0
  drop_path: float = 0.1
  dropout: float = 0.0
  attn_dropout: float = 0.0
  feature_dim: int = 4096
  # Temporal pooling, heads.
  temporal_channels: int = 8
  temporal_kernel: int = 3
  mer_hidden: int = 256
  mer_pool: int = 3
  mer_dropout: float = 0.0
  dic_widths: Sequence[int] = (64, 128, 256, 512)
  dic_negative_slope: float = 0.01
  # Ablations.
  use_local: bool = True
  use_global: bool = True
  use_dic: bool = True
  use_rank: bool = True
  conv_mode: str = "multihead"  # Table 10 backbones: "multihead" (C*), "single" (C'), "vanilla" (C)
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch: dict[str, Array], train: bool) -> dict[str, Array]:
    frames_BxTxHxWxC = jnp.asarray(batch["frames"], self.dtype)
    b, t, h, w, c = frames_BxTxHxWxC.shape
    encoder = FrameEncoder(
        self.stem_widths, self.stem_strides, self.widths, self.strides, self.num_local,
        self.num_global, self.use_local, self.use_global, self.conv_head_dim, self.attn_head_dim,
        self.mlp_ratio_local, self.mlp_ratio_global, self.drop_path, self.dropout,
        self.attn_dropout, self.feature_dim, self.dtype, self.conv_mode, name="encoder")
    # All B*T frames go through the shared encoder as one batch (BN statistics over B*T frames).
    feats_BxTxD = encoder(frames_BxTxHxWxC.reshape(b * t, h, w, c), train).reshape(b, t, -1)
    out = {}
    if self.use_rank:
      score = nn.Dense(1, use_bias=False, dtype=self.dtype, name="rank_scorer")  # S(F) = u . F
      out["rank_scores"] = score(feats_BxTxD)[..., 0].astype(jnp.float32)
    fd_BxhxwxF = TemporalPooling(self.temporal_channels, self.temporal_kernel, self.dtype,
                                 name="temporal_pooling")(feats_BxTxD)
    out["logits"] = MERHead(self.num_classes, self.mer_hidden, self.mer_pool, self.mer_dropout,
                            self.dtype, name="mer")(fd_BxhxwxF, train).astype(jnp.float32)
    if self.use_dic:
      di_Bxhxwx1 = DynamicImageNet(self.dic_widths, negative_slope=self.dic_negative_slope,
                                   dtype=self.dtype, name="dic")(fd_BxhxwxF, train)
      if di_Bxhxwx1.shape[1:3] != (h, w):  # F^(d) map size differs from the frames: resize.
        di_Bxhxwx1 = jax.image.resize(di_Bxhxwx1, (b, h, w, 1), "bilinear")
      out["dynamic_image"] = di_Bxhxwx1
    return out


def check_fields(fields: dict) -> None:
  """MerjaxError for a value FDP does not accept (before any data is read)."""
  if fields.get("conv_mode", "multihead") not in CONV_MODES:
    raise MerjaxError(f"model.conv_mode: {fields['conv_mode']!r} is not one of {CONV_MODES}")
  dim = fields.get("feature_dim", 4096)
  if dim and math.isqrt(dim) ** 2 != dim:
    raise MerjaxError(f"model.feature_dim: {dim} is not a square (F_k becomes a 2-D map)")

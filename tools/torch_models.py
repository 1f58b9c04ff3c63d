"""PyTorch STSTNet, MEGANet and FDP for the tools/ benchmarks: the reference-loop side of the benchmark.

Written from the papers (seeds 000 and 002) and merjax's own reading of them (docs/meganet.md,
docs/fdp.md), layer for layer as merjax/models/meganet.py and merjax/models/fdp.py build them, so
each has exactly the Flax model's parameter count (the bench asserts it before timing). Each is
built from a Flax module instance's fields (`fields_of`, then `build`: widths, strides, ...), so
a config override reaches both sides, and the torch process need not import JAX. Inputs are N x C x H x W (frames:
N x T x C x H x W); PyTorch's own initialisers. Also the two losses (focal, FDP's) and the
on-the-fly augmentation (flip, rotation / translation, bilinear, edges repeated) in torch.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

GRAY_RGB = (0.299, 0.587, 0.114)


# --- STSTNet (the official code's layout) ------------------------------------------------------


class STSTNet(nn.Module):
  """STSTNet as the official code writes it: three streams (3 x 3 conv to 3 / 5 / 8 channels,
  padding 2, ReLU before BN, max-pool 3/3, dropout 0.5), concatenated, avg-pool 2, fc 400 -> K."""

  def __init__(self, num_classes: int = 3):
    super().__init__()
    def stream(c):
      return nn.Sequential(nn.Conv2d(3, c, 3, padding=2), nn.ReLU(), nn.BatchNorm2d(c),
                           nn.MaxPool2d(3, 3, padding=1), nn.Dropout(0.5))
    self.streams = nn.ModuleList([stream(3), stream(5), stream(8)])
    self.pool = nn.AvgPool2d(2, 2)
    self.fc = nn.Linear(400, num_classes)

  def forward(self, x):
    x = torch.cat([s(x) for s in self.streams], 1)
    return self.fc(self.pool(x).flatten(1))


# --- MEGANet (seed 000, Eq. 6-14) --------------------------------------------------------------
def gradient_magnitude(x, border: str = "diff"):
  """Eq. 6-7 on N x C x H x W: |x(i, j+1) - x(i, j)| + |x(i+1, j) - x(i, j)|, the missing
  neighbour's difference 0 ("diff") or x zero-padded first ("input")."""
  if border == "diff":
    gx = F.pad((x[..., :, 1:] - x[..., :, :-1]).abs(), (0, 1, 0, 0))
    gy = F.pad((x[..., 1:, :] - x[..., :-1, :]).abs(), (0, 0, 0, 1))
  else:
    xw, xh = F.pad(x, (0, 1, 0, 0)), F.pad(x, (0, 0, 0, 1))
    gx = (xw[..., :, 1:] - xw[..., :, :-1]).abs()
    gy = (xh[..., 1:, :] - xh[..., :-1, :]).abs()
  return gx + gy


class SelfAttention(nn.Module):
  """SAGAN self-attention: 1x1 convs to C/r (Q, K) and C (V), softmax over keys, gamma * out."""

  def __init__(self, c: int, reduction: int, add_input: bool, gamma_init: float):
    super().__init__()
    self.q, self.k = nn.Conv2d(c, c // reduction, 1), nn.Conv2d(c, c // reduction, 1)
    self.v = nn.Conv2d(c, c, 1)
    self.gamma = nn.Parameter(torch.full((1,), float(gamma_init)))
    self.add_input = add_input

  def forward(self, x):
    b, c, h, w = x.shape
    q_BxNxD = self.q(x).flatten(2).transpose(1, 2)
    k_BxDxN = self.k(x).flatten(2)
    v_BxCxN = self.v(x).flatten(2)
    attn_BxNxN = torch.softmax(torch.bmm(q_BxNxD, k_BxDxN), dim=-1)
    out = torch.bmm(v_BxCxN, attn_BxNxN.transpose(1, 2)).view(b, c, h, w)
    return x + self.gamma * out if self.add_input else self.gamma * out


class ResidualAttentionBlock(nn.Module):
  """conv-BN-ReLU-conv-BN (+ shortcut) -> self-attention -> ReLU -> dropout (Eq. 10-14)."""

  def __init__(self, cin: int, f: int, stride: int, m):
    super().__init__()
    self.conv1 = nn.Conv2d(cin, f, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(f)
    self.conv2 = nn.Conv2d(f, f, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(f)
    self.use_residual = m.use_residual
    self.shortcut = None
    if m.use_residual and (stride != 1 or cin != f):
      self.shortcut = nn.Sequential(nn.Conv2d(cin, f, 1, stride, bias=False), nn.BatchNorm2d(f))
    self.attn = (SelfAttention(f, m.qk_reduction, m.attention_add_input, m.gamma_init)
                 if m.use_self_attention else nn.Identity())
    self.drop = nn.Dropout(float(m.dropout))

  def forward(self, x):
    y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
    if self.use_residual:
      y = y + (x if self.shortcut is None else self.shortcut(x))
    return self.drop(F.relu(self.attn(y)))


class MEGANet(nn.Module):
  """Gradient attention -> 7x7 stem (BN, ReLU, max-pool) -> residual-attention blocks -> GAP -> FC.
  x: N x 3 x H x W -> logits N x K."""

  def __init__(self, m, in_channels: int = 3):
    super().__init__()
    self.border = m.gradient_border
    self.ga = (nn.Conv2d(in_channels, 1, 3, padding=1, bias=m.gradient_conv_bias)
               if m.use_gradient_attention else None)
    self.stem = nn.Sequential(
        nn.Conv2d(in_channels, m.widths[0], 7, m.stem_stride, 3, bias=False),
        nn.BatchNorm2d(m.widths[0]), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1) if m.stem_pool else nn.Identity())
    blocks, cin = [], m.widths[0]
    for i in range(m.num_blocks):
      blocks.append(ResidualAttentionBlock(cin, m.widths[i], m.strides[i], m))
      cin = m.widths[i]
    self.blocks = nn.Sequential(*blocks)
    self.fc = nn.Linear(cin, m.num_classes)

  def forward(self, x):
    if self.ga is not None:
      x = x * torch.sigmoid(self.ga(gradient_magnitude(x, self.border)))
    x = self.blocks(self.stem(x))
    return self.fc(x.mean((2, 3)))


# --- FDP (seed 002, Sec. 3) --------------------------------------------------------------------
class DropPath(nn.Module):
  """Per-sample stochastic depth of a residual branch (kept ones scaled by 1 / (1 - p))."""

  def __init__(self, p: float):
    super().__init__()
    self.p = float(p)

  def forward(self, x):
    if not self.training or self.p == 0.0:
      return x
    keep = torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device) >= self.p
    return x * keep / (1.0 - self.p)


def conv_bn_relu(cin, cout, stride):
  return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class MultiHeadConv(nn.Module):
  """Grouped 3x3 conv (C/head_dim heads; one for "single") + BN + ReLU + pointwise conv;
  "vanilla": one dense 3x3 conv."""

  def __init__(self, c: int, head_dim: int, mode: str):
    super().__init__()
    if mode == "vanilla":
      self.body = nn.Conv2d(c, c, 3, 1, 1, bias=False)
    else:
      groups = 1 if mode == "single" else c // head_dim
      self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, groups=groups, bias=False),
                                nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 1, bias=False))

  def forward(self, x):
    return self.body(x)


def mlp(c: int, ratio: float, dropout: float):
  hidden = max(1, int(round(c * ratio)))
  return nn.Sequential(nn.Conv2d(c, hidden, 1), nn.ReLU(), nn.Dropout(dropout),
                       nn.Conv2d(hidden, c, 1), nn.Dropout(dropout))


class LocalAggregator(nn.Module):
  """x + MHConv(x); x + MLP(BN(x)), both branches drop-path'd."""

  def __init__(self, c, m, rate):
    super().__init__()
    self.mhc = MultiHeadConv(c, m.conv_head_dim, m.conv_mode)
    self.bn = nn.BatchNorm2d(c)
    self.mlp = mlp(c, m.mlp_ratio_local, m.dropout)
    self.dp = DropPath(rate)

  def forward(self, x):
    x = x + self.dp(self.mhc(x))
    return x + self.dp(self.mlp(self.bn(x)))


class GlobalAggregator(nn.Module):
  """Pointwise conv + BN; x + MHSA(BN(x)); x + MHConv(x); x + MLP(BN(x))."""

  def __init__(self, c, m, rate):
    super().__init__()
    self.pw = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
    self.attn_bn = nn.BatchNorm2d(c)
    self.mhsa = nn.MultiheadAttention(c, c // m.attn_head_dim, dropout=m.attn_dropout,
                                      batch_first=True)
    self.attn_drop = nn.Dropout(m.dropout)
    self.mhc = MultiHeadConv(c, m.conv_head_dim, m.conv_mode)
    self.mlp_bn = nn.BatchNorm2d(c)
    self.mlp = mlp(c, m.mlp_ratio_global, m.dropout)
    self.dp = DropPath(rate)

  def forward(self, x):
    x = self.pw(x)
    b, c, h, w = x.shape
    t_BxNxC = self.attn_bn(x).flatten(2).transpose(1, 2)
    a_BxNxC = self.mhsa(t_BxNxC, t_BxNxC, t_BxNxC, need_weights=False)[0]
    x = x + self.dp(self.attn_drop(a_BxNxC).transpose(1, 2).reshape(b, c, h, w))
    x = x + self.dp(self.mhc(x))
    return x + self.dp(self.mlp(self.mlp_bn(x)))


class FrameEncoder(nn.Module):
  """Conv stem; per stage a patch embedding, N_L local and N_G global aggregators; BN, GAP,
  Dense -> feature_dim. N x C x H x W -> N x D."""

  def __init__(self, m, in_channels: int):
    super().__init__()
    stem, cin = [], in_channels
    for w, s in zip(m.stem_widths, m.stem_strides):
      stem += conv_bn_relu(cin, w, s)
      cin = w
    layers = [*stem]
    n_l = m.num_local if m.use_local else 0
    n_g = m.num_global if m.use_global else 0
    n = len(m.widths) * (n_l + n_g)
    rates = iter([m.drop_path * i / max(n - 1, 1) for i in range(n)])
    for width, stride in zip(m.widths, m.strides):
      if stride > 1:
        layers.append(nn.AvgPool2d(stride, stride))
      if stride > 1 or cin != width:
        layers += [nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)]
      cin = width
      layers += [LocalAggregator(width, m, next(rates)) for _ in range(n_l)]
      layers += [GlobalAggregator(width, m, next(rates)) for _ in range(n_g)]
    layers.append(nn.BatchNorm2d(cin))
    self.body = nn.Sequential(*layers)
    self.proj = nn.Linear(cin, m.feature_dim) if m.feature_dim else None

  def forward(self, x):
    x = self.body(x).mean((2, 3))
    return self.proj(x) if self.proj is not None else x


class DynamicImageNet(nn.Module):
  """Conv encoder-decoder (BN, LeakyReLU, max-pool / 2x2 deconvolution, additive skips),
  1x1 conv, sigmoid."""

  def __init__(self, cin, widths, slope):
    super().__init__()
    def cbl(i, o):
      return nn.Sequential(nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o),
                           nn.LeakyReLU(slope))
    self.enc, c = nn.ModuleList(), cin
    for w in widths:
      self.enc.append(cbl(c, w))
      c = w
    self.up, self.dec = nn.ModuleList(), nn.ModuleList()
    for i in reversed(range(len(widths))):
      self.up.append(nn.ConvTranspose2d(c, widths[i], 2, 2))
      self.dec.append(cbl(widths[i], widths[max(i - 1, 0)]))
      c = widths[max(i - 1, 0)]
    self.out = nn.Conv2d(c, 1, 1)

  def forward(self, x):
    skips = []
    for enc in self.enc:
      x = enc(x)
      skips.append(x)
      x = F.max_pool2d(x, 2, 2)
    for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
      x = dec(up(x) + skip)
    return torch.sigmoid(self.out(x))


class FDP(nn.Module):
  """frames N x T x C x H x W -> {"logits" N x K, "rank_scores" N x T (use_rank),
  "dynamic_image" N x 1 x H x W (use_dic)}."""

  def __init__(self, m, frames: int, in_channels: int = 3):
    super().__init__()
    self.encoder = FrameEncoder(m, in_channels)
    d = m.feature_dim or m.widths[-1]
    self.side = math.isqrt(d)
    self.rank = nn.Linear(d, 1, bias=False) if m.use_rank else None
    k = m.temporal_kernel
    self.temporal = nn.Conv3d(1, m.temporal_channels, (frames, k, k), padding=(0, k // 2, k // 2))
    self.pool = m.mer_pool
    flat = m.temporal_channels * (self.side // m.mer_pool) ** 2
    self.mer = nn.Sequential(nn.Linear(flat, m.mer_hidden), nn.ReLU(), nn.Dropout(m.mer_dropout),
                             nn.Linear(m.mer_hidden, m.num_classes))
    self.dic = (DynamicImageNet(m.temporal_channels, m.dic_widths, m.dic_negative_slope)
                if m.use_dic else None)

  def forward(self, frames):
    b, t, c, h, w = frames.shape
    feats_BxTxD = self.encoder(frames.reshape(b * t, c, h, w)).view(b, t, -1)
    out = {}
    if self.rank is not None:
      out["rank_scores"] = self.rank(feats_BxTxD)[..., 0]
    vol = feats_BxTxD.view(b, 1, t, self.side, self.side)
    fd = self.temporal(vol)[:, :, 0]
    out["logits"] = self.mer(F.max_pool2d(fd, self.pool, self.pool).flatten(1))
    if self.dic is not None:
      di = self.dic(fd)
      if di.shape[-2:] != (h, w):
        di = F.interpolate(di, (h, w), mode="bilinear", align_corners=False)
      out["dynamic_image"] = di
    return out


# --- losses, augmentation, parameter counts ----------------------------------------------------
def focal_loss(logits, y, gamma: float = 2.0, alpha: float = 1.0):
  """alpha * (1 - p_t)^gamma * CE, batch mean (merjax's "focal")."""
  logp = torch.log_softmax(logits, -1).gather(1, y[:, None])[:, 0]
  return (alpha * (1 - logp.exp()) ** gamma * -logp).mean()


def harmonic_weights(t: int) -> torch.Tensor:
  """Bilen's approximate rank pooling weights a_k = 2(T - k + 1) - (T + 1)(H_T - H_{k-1})."""
  h = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, t + 1))])
  k = np.arange(1, t + 1)
  return torch.tensor(2 * (t - k + 1) - (t + 1) * (h[t] - h[k - 1]), dtype=torch.float32)


def fdp_loss(out, frames, y, lambda_d=100.0, lambda_r=0.1, lambda_m=1.0, c=1.0, first_index=0):
  """lambda_m CE + lambda_d MSE(DI, min-max harmonic DI of the grey frames) + lambda_r rank."""
  loss = lambda_m * F.cross_entropy(out["logits"], y)
  if "dynamic_image" in out:
    with torch.no_grad():
      grey = torch.einsum("btchw,c->bthw", frames, torch.tensor(GRAY_RGB))
      di = torch.einsum("t,bthw->bhw", harmonic_weights(frames.shape[1]), grey)
      lo = di.amin((1, 2), keepdim=True)
      span = di.amax((1, 2), keepdim=True) - lo
      target = torch.where(span > 0, (di - lo) / span.clamp_min(1e-12), torch.zeros_like(di))
    loss = loss + lambda_d * F.mse_loss(out["dynamic_image"][:, 0], target)
  if "rank_scores" in out:
    t = out["rank_scores"].shape[1]
    target_t = c * torch.arange(first_index, first_index + t, dtype=torch.float32)
    loss = loss + lambda_r * (target_t - out["rank_scores"]).abs().sum(1).mean()
  return loss


def augment(x, flip: bool = False, rotate_deg=0.0, translate_px=0.0, generator=None):
  """Per sample: horizontal flip (p = 1/2), a rotation (an angle of the list with 0 added, or
  uniform in +-rotate_deg) and a shift uniform in +-translate_px; bilinear, edges repeated.
  x: N x C x H x W or N x T x C x H x W (one transform for all T frames)."""
  n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
  if flip:
    mask = torch.rand(n, generator=generator) < 0.5
    x = torch.where(mask.view((n,) + (1,) * (x.ndim - 1)), x.flip(-1), x)
  angles = list(rotate_deg) if isinstance(rotate_deg, (list, tuple)) else None
  if not (angles or rotate_deg or translate_px):
    return x
  if angles:
    choices = torch.tensor([0.0] + [float(a) for a in angles])
    angle = choices[torch.randint(len(choices), (n,), generator=generator)]
  else:
    angle = (torch.rand(n, generator=generator) * 2 - 1) * float(rotate_deg)
  shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * float(translate_px)
  a = torch.deg2rad(angle)
  cos, sin = a.cos(), a.sin()
  sx, sy = shift[:, 1] * 2 / w, shift[:, 0] * 2 / h
  theta = torch.stack([torch.stack([cos, sin, -(cos * sx + sin * sy)], 1),
                       torch.stack([-sin, cos, -(-sin * sx + cos * sy)], 1)], 1)
  shape = x.shape
  if x.ndim == 5:
    t = shape[1]
    theta = theta.repeat_interleave(t, 0)
    x = x.reshape(n * t, *shape[2:])
  grid = F.affine_grid(theta, list(x.shape), align_corners=False)
  return F.grid_sample(x, grid, "bilinear", "border", align_corners=False).reshape(shape)


def count_params(net: nn.Module) -> int:
  """Learnable scalars (BN running statistics are buffers and do not count)."""
  return sum(p.numel() for p in net.parameters())


def fields_of(flax_model) -> dict:
  """A merjax Flax MEGANet / FDP instance's fields as plain (JSON) values, dtype left out."""
  skip = ("parent", "name", "dtype")
  out = {}
  for f in dataclasses.fields(flax_model):
    if f.name not in skip:
      v = getattr(flax_model, f.name)
      out[f.name] = list(v) if isinstance(v, (list, tuple)) else v
  return out


def build(model: str, fields: Mapping, **kwargs) -> nn.Module:
  """The torch twin of merjax's `model` ("meganet" | "fdp") with these Flax fields
  (`fields_of`); FDP needs frames=T."""
  m = types.SimpleNamespace(**fields)
  if model == "meganet":
    return MEGANet(m, **kwargs)
  if model == "fdp":
    return FDP(m, **kwargs)
  raise ValueError(f"no torch twin of {model!r}")

"""DFR-Net / DynamicFusionResNet (Li, Huang, Wu 2025): multi-feature fusion + channel-spatial attention ResNet.

No code was released; this follows §3.2-3.3 (Eq. 9-14). Inputs (all B x H x W x *, same H, W):
`batch["spatial"]` apex frame, `batch["temporal"]` (u, v, strain), `batch["diff"]` |apex - onset|.
Open choices are fields of `DFRNet`; defaults and reasons are in docs/dfrnet.md (ours, not the paper's).
The attention (CBAM-style, r=16, 7x7) adds exactly 22,092 parameters to 3 stages x 2 BasicBlocks of 64/128/256.
The AlexNet / VGG / Inception / ViT post-fusion modules of Table 5 are small versions of our own design.
"""

from __future__ import annotations

import functools
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.layers import batch_norm

ROLES = {"T": "temporal", "S": "spatial", "D": "diff"}


def _pad(k: int):
  return ((k // 2, k // 2), (k // 2, k // 2))


def parse_features(features: str) -> tuple[str, ...]:
  """'T+S+D' (any order, '+' optional) -> ('T', 'S', 'D') in canonical T, S, D order."""
  letters = set(features.upper().replace("+", "").replace(" ", ""))
  if not letters <= set("TSD") or len(letters) < 2:
    raise MerjaxError(f"model.features: {features!r} is not two or three of T, S, D (e.g. 'T+S+D')")
  return tuple(k for k in "TSD" if k in letters)


class ChannelAttention(nn.Module):
  """Eq. 13 ("paper"): sigmoid(MLP(avg + max)); "cbam": sigmoid(MLP(avg) + MLP(max)). Shared bias-free MLP
  C -> C/r -> C. Returns x * weights."""
  reduction: int = 16
  variant: str = "paper"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC):
    c = x_BxHxWxC.shape[-1]
    fc1 = nn.Dense(max(c // self.reduction, 1), use_bias=False, dtype=self.dtype, name="fc1")
    fc2 = nn.Dense(c, use_bias=False, dtype=self.dtype, name="fc2")
    mlp = lambda v: fc2(nn.relu(fc1(v)))
    avg_BxC = jnp.mean(x_BxHxWxC, axis=(1, 2))
    max_BxC = jnp.max(x_BxHxWxC, axis=(1, 2))
    if self.variant == "paper":
      logit_BxC = mlp(avg_BxC + max_BxC)
    elif self.variant == "cbam":
      logit_BxC = mlp(avg_BxC) + mlp(max_BxC)
    else:
      raise MerjaxError(f"model.ca_variant: must be 'paper' or 'cbam', got {self.variant!r}")
    return x_BxHxWxC * nn.sigmoid(logit_BxC)[:, None, None, :]


class SpatialAttention(nn.Module):
  """Eq. 14: sigmoid(conv_kxk([mean_c(x), max_c(x)])), bias-free. Returns x * map."""
  kernel: int = 7
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC):
    pooled_BxHxWx2 = jnp.concatenate(
        [jnp.mean(x_BxHxWxC, axis=-1, keepdims=True), jnp.max(x_BxHxWxC, axis=-1, keepdims=True)], axis=-1)
    k = self.kernel
    logit_BxHxWx1 = nn.Conv(1, (k, k), padding=_pad(k), use_bias=False, dtype=self.dtype,
                            name="conv")(pooled_BxHxWx2)
    return x_BxHxWxC * nn.sigmoid(logit_BxHxWx1)


class CSABasicBlock(nn.Module):
  """Eq. 12: ReLU(shortcut(x) + SA(CA(BN(conv(ReLU(BN(conv(x)))))))), ResNet-18 BasicBlock otherwise."""
  features: int
  stride: int = 1
  attention: str = "both"       # "none" | "sa" | "ca" | "both"
  ca_variant: str = "paper"
  ca_reduction: int = 16
  sa_kernel: int = 7
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC, train: bool):
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype)
    s = (self.stride, self.stride)
    y = conv(self.features, (3, 3), strides=s, padding=_pad(3), name="conv1")(x_BxHxWxC)
    y = nn.relu(batch_norm(train, dtype=self.dtype, name="bn1")(y))
    y = conv(self.features, (3, 3), padding=_pad(3), name="conv2")(y)
    y = batch_norm(train, dtype=self.dtype, name="bn2")(y)
    if self.attention not in ("none", "sa", "ca", "both"):
      raise MerjaxError(f"model.attention: must be none/sa/ca/both, got {self.attention!r}")
    if self.attention in ("ca", "both"):
      y = ChannelAttention(self.ca_reduction, self.ca_variant, self.dtype, name="ca")(y)
    if self.attention in ("sa", "both"):
      y = SpatialAttention(self.sa_kernel, self.dtype, name="sa")(y)
    shortcut = x_BxHxWxC
    if self.stride != 1 or x_BxHxWxC.shape[-1] != self.features:
      shortcut = conv(self.features, (1, 1), strides=s, name="downsample_conv")(x_BxHxWxC)
      shortcut = batch_norm(train, dtype=self.dtype, name="downsample_bn")(shortcut)
    return nn.relu(shortcut + y)


class InceptionModule(nn.Module):
  """GoogLeNet-style module: 1x1 | 1x1->3x3 | 1x1->5x5 | pool->1x1, concatenated (ours)."""
  c1: int
  c3r: int
  c3: int
  c5r: int
  c5: int
  cp: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    conv = lambda f, k, name: (lambda y: nn.relu(nn.Conv(f, (k, k), padding=_pad(k), dtype=self.dtype,
                                                         name=name)(y)))
    b1 = conv(self.c1, 1, "b1")(x)
    b3 = conv(self.c3, 3, "b3")(conv(self.c3r, 1, "b3_reduce")(x))
    b5 = conv(self.c5, 5, "b5")(conv(self.c5r, 1, "b5_reduce")(x))
    bp = conv(self.cp, 1, "bpool")(nn.max_pool(x, (3, 3), strides=(1, 1), padding=_pad(3)))
    return jnp.concatenate([b1, b3, b5, bp], axis=-1)


class DFRNet(nn.Module):
  """Fusion module (Eq. 9-10) -> post-fusion module (default: channel-spatial attention ResNet) -> logits."""
  num_classes: int
  # --- inputs and fusion (§3.2, Tables 3-4)
  features: str = "T+S+D"            # Table 3: "S+D" | "T+D" | "T+S" | "T+S+D"
  fusion: str = "paper"              # Table 4: "paper" | "add" | "mul" | "concat"
  shallow_width: int = 64            # channels of each shallow 3x3 conv
  fused_width: int = 64              # channels of f1, f2 (= F_fused)
  fusion_kernel: int = 3             # kernel of f1, f2
  gate_hidden: int = 64              # channels of the first 1x1 gate conv
  gate_activation: str = "sigmoid"   # "sigmoid" | "relu" (the paper's text)
  # --- post-fusion module (§3.3, Tables 5-9)
  module: str = "resnet"             # Table 5: "resnet" | "alexnet" | "vgg" | "inception" | "vit"
  stem: bool = True                  # ResNet 7x7/2 conv + BN + ReLU + 3x3/2 max-pool after the fusion
  num_stages: int = 3                # Tables 8-9: 1..4
  stage_widths: tuple[int, ...] = (64, 128, 256, 512)
  blocks_per_stage: int = 2          # ResNet-18
  attention: str = "both"            # Table 6: "none" | "sa" | "ca" | "both"
  ca_variant: str = "paper"          # "paper" (Eq. 13: add before the MLP) | "cbam" (add after)
  ca_reduction: int = 16
  sa_kernel: int = 7
  dropout: float = 0.5               # before the classifier of alexnet / vgg / inception / vit only
  vit_patch: int = 8
  vit_dim: int = 192
  vit_depth: int = 4
  vit_heads: int = 3
  dtype: Any = jnp.float32

  # ---------------------------------------------------------------- fusion
  def _shallow(self, batch, key):
    x = jnp.asarray(batch[ROLES[key]], self.dtype)
    return nn.relu(nn.Conv(self.shallow_width, (3, 3), padding=_pad(3), dtype=self.dtype,
                           name=f"shallow_{ROLES[key]}")(x))

  def _fuse_convs(self, x):
    k = self.fusion_kernel
    for i in (1, 2):
      x = nn.relu(nn.Conv(self.fused_width, (k, k), padding=_pad(k), dtype=self.dtype, name=f"fuse{i}")(x))
    return x

  def _fusion(self, batch):
    keys = parse_features(self.features)
    if self.fusion == "paper":
      static = [self._shallow(batch, k) for k in keys if k != "T"]
      f_BxHxWxF = self._fuse_convs(jnp.concatenate(static, axis=-1))      # Eq. 9
      if "T" not in keys:                                                  # S+D: the gate step is omitted
        return f_BxHxWxF
      t_BxHxWxS = self._shallow(batch, "T")
      pooled = jnp.concatenate([jnp.mean(f_BxHxWxF, axis=(1, 2), keepdims=True),
                                jnp.mean(t_BxHxWxS, axis=(1, 2), keepdims=True)], axis=-1)
      a = nn.relu(nn.Conv(self.gate_hidden, (1, 1), dtype=self.dtype, name="gate1")(pooled))
      a = nn.Conv(self.fused_width, (1, 1), dtype=self.dtype, name="gate2")(a)
      if self.gate_activation == "sigmoid":
        a_Bx1x1xF = nn.sigmoid(a)
      elif self.gate_activation == "relu":
        a_Bx1x1xF = nn.relu(a)
      else:
        raise MerjaxError(f"model.gate_activation: must be 'sigmoid' or 'relu', got {self.gate_activation!r}")
      return f_BxHxWxF * a_Bx1x1xF                                         # Eq. 10
    maps = [self._shallow(batch, k) for k in keys]
    if self.fusion == "add":
      x = sum(maps[1:], maps[0])
    elif self.fusion == "mul":
      x = maps[0]
      for m in maps[1:]:
        x = x * m
    elif self.fusion == "concat":
      x = jnp.concatenate(maps, axis=-1)
    else:
      raise MerjaxError(f"model.fusion: must be paper/add/mul/concat, got {self.fusion!r}")
    return self._fuse_convs(x)

  # ---------------------------------------------------------------- post-fusion modules
  def _resnet(self, x, train):
    if not 1 <= self.num_stages <= len(self.stage_widths):
      raise MerjaxError(f"model.num_stages: must be in 1..{len(self.stage_widths)}, got {self.num_stages}")
    if self.stem:
      x = nn.Conv(self.stage_widths[0], (7, 7), strides=(2, 2), padding=_pad(7), use_bias=False,
                  dtype=self.dtype, name="stem_conv")(x)
      x = nn.relu(batch_norm(train, dtype=self.dtype, name="stem_bn")(x))
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=_pad(3))
    for i in range(self.num_stages):
      for j in range(self.blocks_per_stage):
        x = CSABasicBlock(
            self.stage_widths[i], stride=2 if (i > 0 and j == 0) else 1, attention=self.attention,
            ca_variant=self.ca_variant, ca_reduction=self.ca_reduction, sa_kernel=self.sa_kernel,
            dtype=self.dtype, name=f"layer{i + 1}_{j}")(x, train)
    return jnp.mean(x, axis=(1, 2))

  def _plain_cnn(self, x, cfg):
    """cfg: ints = conv (width, kernel, stride) tuples, "M" = 3x3/2 max-pool (padded)."""
    for i, c in enumerate(cfg):
      if c == "M":
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=_pad(3))
      else:
        width, k, s = c
        x = nn.relu(nn.Conv(width, (k, k), strides=(s, s), padding=_pad(k), dtype=self.dtype,
                            name=f"conv{i}")(x))
    return jnp.mean(x, axis=(1, 2))

  def _inception(self, x):
    x = nn.relu(nn.Conv(192, (3, 3), strides=(2, 2), padding=_pad(3), dtype=self.dtype, name="stem_conv")(x))
    x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=_pad(3))
    x = InceptionModule(64, 96, 128, 16, 32, 32, self.dtype, name="inception3a")(x)
    x = InceptionModule(128, 128, 192, 32, 96, 64, self.dtype, name="inception3b")(x)
    x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=_pad(3))
    x = InceptionModule(192, 96, 208, 16, 48, 64, self.dtype, name="inception4a")(x)
    return jnp.mean(x, axis=(1, 2))

  def _vit(self, x, train):
    p, d = self.vit_patch, self.vit_dim
    x = nn.Conv(d, (p, p), strides=(p, p), padding="VALID", dtype=self.dtype, name="patch_embed")(x)
    b = x.shape[0]
    x_BxNxD = x.reshape(b, -1, d)
    cls = self.param("cls_token", nn.initializers.zeros, (1, 1, d), jnp.float32)
    x_BxNxD = jnp.concatenate([jnp.broadcast_to(cls.astype(self.dtype), (b, 1, d)), x_BxNxD], axis=1)
    pos = self.param("pos_embed", nn.initializers.normal(0.02), (1,) + x_BxNxD.shape[1:], jnp.float32)
    x_BxNxD = x_BxNxD + pos.astype(self.dtype)
    for i in range(self.vit_depth):
      y = nn.LayerNorm(dtype=self.dtype, name=f"block{i}_ln1")(x_BxNxD)
      y = nn.MultiHeadDotProductAttention(num_heads=self.vit_heads, dtype=self.dtype, name=f"block{i}_attn")(y, y)
      x_BxNxD = x_BxNxD + y
      y = nn.LayerNorm(dtype=self.dtype, name=f"block{i}_ln2")(x_BxNxD)
      y = nn.Dense(4 * d, dtype=self.dtype, name=f"block{i}_mlp1")(y)
      y = nn.Dense(d, dtype=self.dtype, name=f"block{i}_mlp2")(nn.gelu(y))
      x_BxNxD = x_BxNxD + y
    return nn.LayerNorm(dtype=self.dtype, name="final_ln")(x_BxNxD)[:, 0]

  @nn.compact
  def __call__(self, batch: dict, train: bool) -> dict:
    x = self._fusion(batch)
    if self.module == "resnet":
      h_BxC = self._resnet(x, train)
    else:
      if self.module == "alexnet":
        h_BxC = self._plain_cnn(x, [(64, 5, 2), "M", (192, 5, 1), "M", (384, 3, 1), (256, 3, 1), (256, 3, 1), "M"])
      elif self.module == "vgg":
        h_BxC = self._plain_cnn(x, [(64, 3, 1), "M", (128, 3, 1), "M", (256, 3, 1), (256, 3, 1), "M",
                                    (512, 3, 1), (512, 3, 1), "M"])
      elif self.module == "inception":
        h_BxC = self._inception(x)
      elif self.module == "vit":
        h_BxC = self._vit(x, train)
      else:
        raise MerjaxError(f"model.module: must be resnet/alexnet/vgg/inception/vit, got {self.module!r}")
      h_BxC = nn.Dropout(self.dropout)(h_BxC, deterministic=not train)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="classifier")(h_BxC)
    return {"logits": logits_BxK.astype(jnp.float32)}


# Choice fields -> the values DFRNet accepts.
CHOICES = {"fusion": ("paper", "add", "mul", "concat"),
           "gate_activation": ("sigmoid", "relu"),
           "module": ("resnet", "alexnet", "vgg", "inception", "vit"),
           "attention": ("none", "sa", "ca", "both"),
           "ca_variant": ("paper", "cbam")}


def check_fields(fields: dict) -> None:
  """MerjaxError for a value DFRNet does not accept (before any data is read)."""
  if "features" in fields:
    parse_features(fields["features"])
  for key, choices in CHOICES.items():
    if key in fields and fields[key] not in choices:
      raise MerjaxError(f"model.{key}: {fields[key]!r} is not one of {choices}")

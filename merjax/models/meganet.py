"""MEGANet (Nguyen et al., arXiv 2509.00056): Gradient Attention + Residual-Attention blocks.

No code was released; this follows the paper's Eq. 6-14. Every choice the paper leaves open is a field
of `MEGANet` with the default documented in docs/meganet.md (those defaults are ours, not the paper's).
With the defaults (widths 64/128/256, strides 1/2/2) and 3 classes it has 1,341,586 parameters.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models import layers
from merjax.models.layers import batch_norm


def gradient_magnitude(x_BxHxWxC: jax.Array, border: str = "diff") -> jax.Array:
  """Eq. 6-7: |X(i, j+1) - X(i, j)| + |X(i+1, j) - X(i, j)| per channel, B x H x W x C.

  border="diff": the last column/row has no neighbour and its difference is 0 (the difference is zero-padded);
  border="input": X is zero-padded before differencing, so the last column/row gets |X|.
  """
  x = x_BxHxWxC
  if border == "diff":
    gx = jnp.abs(x[:, :, 1:] - x[:, :, :-1])
    gy = jnp.abs(x[:, 1:] - x[:, :-1])
    gx = jnp.pad(gx, ((0, 0), (0, 0), (0, 1), (0, 0)))
    gy = jnp.pad(gy, ((0, 0), (0, 1), (0, 0), (0, 0)))
  elif border == "input":
    xw = jnp.pad(x, ((0, 0), (0, 0), (0, 1), (0, 0)))
    xh = jnp.pad(x, ((0, 0), (0, 1), (0, 0), (0, 0)))
    gx = jnp.abs(xw[:, :, 1:] - xw[:, :, :-1])
    gy = jnp.abs(xh[:, 1:] - xh[:, :-1])
  else:
    raise MerjaxError(f"model.gradient_border: {border!r} is not 'diff' or 'input'")
  return gx + gy


class GradientAttention(nn.Module):
  """Eq. 6-9: A = sigmoid(conv3x3_{C->1}(G)), Y = X * A. Returns (Y, A_BxHxWx1)."""
  border: str = "diff"
  use_bias: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC):
    g_BxHxWxC = gradient_magnitude(x_BxHxWxC, self.border)
    logit_BxHxWx1 = nn.Conv(1, (3, 3), padding=((1, 1), (1, 1)), use_bias=self.use_bias,
                            dtype=self.dtype, name="conv")(g_BxHxWxC)
    a_BxHxWx1 = nn.sigmoid(logit_BxHxWx1)
    return x_BxHxWxC * a_BxHxWx1, a_BxHxWx1


class SelfAttention(nn.Module):
  """SAGAN self-attention (Eq. 13): Q, K = 1x1 conv to C/r, V = 1x1 conv to C, softmax(Q K^T) over keys.

  Returns gamma * attn (+ x when `add_input`). `impl="fused"` uses jax.nn.dot_product_attention with the
  shared Q/K tiled over r heads of V (C/r channels each); mathematically the same as "plain".
  """
  reduction: int = 8
  add_input: bool = True
  gamma_init: float = 0.0
  impl: str = "plain"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC):
    b, h, w, c = x_BxHxWxC.shape
    d = c // self.reduction
    dense = functools.partial(nn.Dense, dtype=self.dtype)
    q_BxNxD = dense(d, name="query")(x_BxHxWxC).reshape(b, h * w, d)
    k_BxNxD = dense(d, name="key")(x_BxHxWxC).reshape(b, h * w, d)
    v_BxNxC = dense(c, name="value")(x_BxHxWxC).reshape(b, h * w, c)
    gamma = self.param("gamma", nn.initializers.constant(self.gamma_init), (1,), jnp.float32)
    if self.impl == "plain":
      energy_BxNxN = jnp.einsum("bqd,bkd->bqk", q_BxNxD, k_BxNxD)
      attn_BxNxN = jax.nn.softmax(energy_BxNxN.astype(jnp.float32), axis=-1).astype(v_BxNxC.dtype)
      out_BxNxC = jnp.einsum("bqk,bkc->bqc", attn_BxNxN, v_BxNxC)
    elif self.impl == "fused":
      if c % d:
        raise MerjaxError(f"model.attention_impl='fused' needs C/r to divide C, got C={c}, "
                          f"r={self.reduction}")
      heads = c // d
      q_BxNxHxD = jnp.broadcast_to(q_BxNxD[:, :, None], (b, h * w, heads, d))
      k_BxNxHxD = jnp.broadcast_to(k_BxNxD[:, :, None], (b, h * w, heads, d))
      v_BxNxHxD = v_BxNxC.reshape(b, h * w, heads, d)
      out_BxNxC = jax.nn.dot_product_attention(q_BxNxHxD, k_BxNxHxD, v_BxNxHxD, scale=1.0).reshape(b, h * w, c)
    else:
      raise MerjaxError(f"model.attention_impl: {self.impl!r} is not 'plain' or 'fused'")
    y_BxHxWxC = gamma.astype(self.dtype) * out_BxNxC.reshape(b, h, w, c)
    return x_BxHxWxC + y_BxHxWxC if self.add_input else y_BxHxWxC


class ResidualAttentionBlock(nn.Module):
  """Eq. 10-14: X_res = shortcut(X) + BN(conv(ReLU(BN(conv(X))))); Y = Dropout(ReLU(SelfAttn(X_res)))."""
  features: int
  stride: int = 1
  use_residual: bool = True
  use_self_attention: bool = True
  attention_add_input: bool = True
  gamma_init: float = 0.0
  qk_reduction: int = 8
  dropout: float = 0.1                          # may be a traced sweep value
  attention_impl: str = "plain"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC, train: bool):
    bn = functools.partial(batch_norm, train, dtype=self.dtype)
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype)
    s = (self.stride, self.stride)
    y = conv(self.features, (3, 3), strides=s, padding=((1, 1), (1, 1)), name="conv1")(x_BxHxWxC)
    y = nn.relu(bn(name="bn1")(y))
    y = conv(self.features, (3, 3), padding=((1, 1), (1, 1)), name="conv2")(y)
    y = bn(name="bn2")(y)
    if self.use_residual:
      shortcut = x_BxHxWxC
      if self.stride != 1 or x_BxHxWxC.shape[-1] != self.features:
        shortcut = conv(self.features, (1, 1), strides=s, name="shortcut_conv")(x_BxHxWxC)
        shortcut = bn(name="shortcut_bn")(shortcut)
      y = y + shortcut
    if self.use_self_attention:
      y = SelfAttention(reduction=self.qk_reduction, add_input=self.attention_add_input,
                        gamma_init=self.gamma_init, impl=self.attention_impl, dtype=self.dtype,
                        name="self_attention")(y)
    y = nn.relu(y)
    return layers.Dropout(self.dropout)(y, deterministic=not train)


class MEGANet(nn.Module):
  """RGB image -> Gradient Attention -> 7x7/64 stem -> Residual-Attention blocks -> GAP -> FC.

  Returns {"logits": B x K, "gradient_attention": B x H x W x 1} (all ones when the block is ablated).
  """
  TRACEABLE_FIELDS = ("dropout",)               # sweep values traced per member
  num_classes: int
  num_blocks: int = 3                           # Table VI: 2, 3 or 4
  widths: tuple[int, ...] = (64, 128, 256, 512)  # the first `num_blocks` are used
  strides: tuple[int, ...] = (1, 2, 2, 2)
  stem_stride: int = 2
  stem_pool: bool = True                        # 3x3/2 max-pool after the stem (ResNet style)
  gradient_border: str = "diff"                 # see gradient_magnitude
  gradient_conv_bias: bool = True
  attention_add_input: bool = True              # Y = ReLU(X_res + gamma * attn) instead of Eq. 13-14 literally
  gamma_init: float = 0.0
  qk_reduction: int = 8                         # C/8 query/key channels (stated)
  dropout: float = 0.1
  attention_impl: str = "plain"                 # "plain" | "fused"
  use_gradient_attention: bool = True           # Table V switches
  use_residual: bool = True
  use_self_attention: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch: dict, train: bool) -> dict:
    if not 1 <= self.num_blocks <= min(len(self.widths), len(self.strides)):
      raise MerjaxError(f"model.num_blocks: {self.num_blocks} needs that many model.widths and "
                        f"model.strides")
    x = jnp.asarray(batch["image"], self.dtype)
    if self.use_gradient_attention:
      x, attn_BxHxWx1 = GradientAttention(border=self.gradient_border, use_bias=self.gradient_conv_bias,
                                          dtype=self.dtype, name="gradient_attention")(x)
    else:
      attn_BxHxWx1 = jnp.ones(x.shape[:-1] + (1,), self.dtype)
    s = self.stem_stride
    x = nn.Conv(self.widths[0], (7, 7), strides=(s, s), padding=((3, 3), (3, 3)), use_bias=False,
                dtype=self.dtype, name="stem_conv")(x)
    x = batch_norm(train, dtype=self.dtype, name="stem_bn")(x)
    x = nn.relu(x)
    if self.stem_pool:
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for i in range(self.num_blocks):
      x = ResidualAttentionBlock(
          features=self.widths[i], stride=self.strides[i], use_residual=self.use_residual,
          use_self_attention=self.use_self_attention, attention_add_input=self.attention_add_input,
          gamma_init=self.gamma_init, qk_reduction=self.qk_reduction, dropout=self.dropout,
          attention_impl=self.attention_impl, dtype=self.dtype, name=f"block{i + 1}")(x, train)
    x_BxC = jnp.mean(x, axis=(1, 2))
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="classifier")(x_BxC)
    return {"logits": logits_BxK.astype(jnp.float32),
            "gradient_attention": attn_BxHxWx1.astype(jnp.float32)}


def check_fields(fields: dict) -> None:
  """MerjaxError for a value MEGANet does not accept (before any data is read)."""
  for key, choices in (("gradient_border", ("diff", "input")),
                       ("attention_impl", ("plain", "fused"))):
    if key in fields and fields[key] not in choices:
      raise MerjaxError(f"model.{key}: {fields[key]!r} is not one of {choices}")

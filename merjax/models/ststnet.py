"""STSTNet (Liong et al. 2019) exactly as its official code builds it.

Three parallel streams over a 28 x 28 x 3 (u, v, strain) image: conv 3x3 with
padding 2 (3, 5 and 8 filters), ReLU, BatchNorm (ReLU *before* BN, as the code
does), max-pool 3/3 with padding 1, dropout 0.5; concatenated to 16 channels,
average-pool 2/2, flattened (400) and one linear layer. 1,683 parameters with
3 classes.

Every op after the convolutions acts per channel, so the three streams are
computed as one 16-filter convolution (filters 0-2, 3-7 and 8-15 are the
streams): the same function and parameters, one GEMM instead of three. The
pools are non-overlapping (window = stride), so they are written as reshapes,
whose gradients are much cheaper than XLA's reduce-window on the CPU. With
`conv_impl="patches"` the convolution is an im2col GEMM (shifted slices
concatenated, then one einsum): the same parameters and result,
but its weight gradient is one matrix product, and under `vmap` over folds it
becomes a batched GEMM instead of a grouped convolution (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.layers import PatchConv, batch_norm


def pool_nonoverlapping(x_BxHxWxC, window: int, padding: int, reduce: str):
  """Max or mean pooling with stride == window and symmetric zero/-inf padding,
  the output size of PyTorch's pooling: floor((H + 2p - k) / k) + 1."""
  b, h, w, c = x_BxHxWxC.shape
  oh = (h + 2 * padding - window) // window + 1
  ow = (w + 2 * padding - window) // window + 1
  fill = -jnp.inf if reduce == "max" else 0.0
  pad_h = oh * window - h - padding
  pad_w = ow * window - w - padding
  x = jnp.pad(x_BxHxWxC, ((0, 0), (padding, max(pad_h, 0)), (padding, max(pad_w, 0)),
                          (0, 0)), constant_values=fill)
  x = x[:, :oh * window, :ow * window]
  x = x.reshape(b, oh, window, ow, window, c)
  return x.max(axis=(2, 4)) if reduce == "max" else x.mean(axis=(2, 4))


class STSTNet(nn.Module):
  """batch["image"] B x H x W x 3 (28 x 28 in the paper) -> {"logits": B x K}."""
  num_classes: int = 3
  stream_widths: tuple[int, ...] = (3, 5, 8)
  dropout: float = 0.5
  conv_impl: str = "patches"    # "patches" (im2col GEMM) or "xla" (nn.Conv)
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch, train: bool):
    x_BxHxWxC = batch["image"].astype(self.dtype)
    width = sum(self.stream_widths)
    if self.conv_impl == "patches":
      conv = PatchConv(width, (3, 3), 2, dtype=self.dtype, name="streams_conv")
    else:
      conv = nn.Conv(width, (3, 3), padding=2, dtype=self.dtype, name="streams_conv")
    h = conv(x_BxHxWxC)
    h = nn.relu(h)
    h = batch_norm(train, dtype=self.dtype, name="streams_bn")(h)
    h = pool_nonoverlapping(h, 3, 1, "max")
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    h = pool_nonoverlapping(h, 2, 0, "mean")
    features = h.reshape(h.shape[0], -1)
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(features)
    return {"logits": logits}


CONV_IMPLS = ("patches", "xla")


def check_fields(fields: dict) -> None:
  """MerjaxError for a value STSTNet does not accept (before any data is read)."""
  if fields.get("conv_impl", "patches") not in CONV_IMPLS:
    raise MerjaxError(f"model.conv_impl: {fields['conv_impl']!r} is not one of {CONV_IMPLS}")

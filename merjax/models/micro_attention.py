"""Micro-Attention (Wang et al., Neurocomputing 2020) as its official Caffe
`train_test.prototxt` builds it (CodeShareBot/Micro-Attention-for-Micro-Expression @ 692439c;
summarised in shared/research/reference-implementations.md section 6.3):

- input BN (data-BN, with Caffe Scale gamma/beta) -> 7x7/2 conv 64 -> BN -> ReLU -> 3x3/2 max-pool
  (Caffe ceil mode);
- four one-block stages, 64 / 128 / 256 / 512; stage 64: conv3x3 -> BN -> ReLU -> conv3x3 + identity;
  later stages: pre-activation BN -> ReLU, conv3x3/2 -> BN -> ReLU -> conv3x3 + 1x1/2 projection;
- micro-attention unit in every block: concat[shortcut, conv1 out, conv2 out] (3C) -> 1x1 conv C
  -> 1x1 conv 1 (no bias) -> sigmoid mask m; out = s * m + s with s the residual sum;
- head: BN -> ReLU -> global average -> Linear(512, K).

5,945,799 learnable params for a 1-channel 224x224 input and 5 classes with `stem_conv_bias=True`
(Caffe); the default here drops that bias (it feeds a BN, see docs/architecture.md): 5,945,735.
`--model micro_attention` reads batch["image"] (B x H x W x C, C = 1 in the paper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, conv
from merjax.models.layers import batch_norm


def caffe_max_pool(x_BxHxWxC: jax.Array, kernel: int, stride: int) -> jax.Array:
  """Caffe max-pool without padding: ceil((H - k) / s) + 1 outputs (pads bottom/right)."""
  pads = []
  for n in x_BxHxWxC.shape[1:3]:
    out = -(-(n - kernel) // stride) + 1
    pads.append((0, max(0, (out - 1) * stride + kernel - n)))
  return nn.max_pool(x_BxHxWxC, (kernel, kernel), strides=(stride, stride), padding=pads)


class MicroAttentionBlock(nn.Module):
  """One residual block with its micro-attention unit."""
  features: int
  stride: int = 1
  preact: bool = False             # BN -> ReLU on the block input (stages 128/256/512)
  shortcut_from_preact: bool = True  # projection reads the pre-activated input (pre-act ResNet)
  concat_activated: bool = False   # attention sees conv1 after BN+ReLU (Caffe in-place) or raw
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> jax.Array:
    c = self.features
    bn = lambda name: batch_norm(train, dtype=self.dtype, name=name)
    a = nn.relu(bn("preact_bn")(x_BxHxWxC)) if self.preact else x_BxHxWxC
    shortcut = x_BxHxWxC
    if self.stride != 1 or x_BxHxWxC.shape[-1] != c:
      src = a if self.shortcut_from_preact else x_BxHxWxC
      shortcut = conv(c, 1, self.stride, dtype=self.dtype, name="shortcut_conv")(src)
    c1 = conv(c, 3, self.stride, dtype=self.dtype, name="conv1")(a)
    a1 = nn.relu(bn("bn1")(c1))
    c2 = conv(c, 3, dtype=self.dtype, name="conv2")(a1)
    s_BxHxWxC = shortcut + c2
    cat_BxHxWx3C = jnp.concatenate([shortcut, a1 if self.concat_activated else c1, c2], axis=-1)
    m = conv(c, 1, dtype=self.dtype, name="attention_reduce")(cat_BxHxWx3C)
    m_BxHxWx1 = nn.sigmoid(conv(1, 1, dtype=self.dtype, name="attention_mask")(m))
    return s_BxHxWxC * m_BxHxWx1 + s_BxHxWxC


class MicroAttentionNet(nn.Module):
  """Pre-activation ResNet-10 with micro-attention; returns {"logits": B x K, "features": B x 512}."""
  num_classes: int
  widths: Sequence[int] = (64, 128, 256, 512)
  stem_conv_bias: bool = False  # Caffe has a bias on conv1 (+64 params) but BN follows it
  shortcut_from_preact: bool = True
  concat_activated: bool = False
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, batch: Mapping[str, jax.Array], train: bool) -> dict[str, jax.Array]:
    bn = lambda name: batch_norm(train, dtype=self.dtype, name=name)
    x = bn("data_bn")(batch["image"].astype(self.dtype))
    x = conv(self.widths[0], 7, 2, padding=3, use_bias=self.stem_conv_bias, dtype=self.dtype,
             name="conv1")(x)
    x = caffe_max_pool(nn.relu(bn("bn1")(x)), 3, 2)
    for i, width in enumerate(self.widths):
      x = MicroAttentionBlock(
          width, stride=1 if i == 0 else 2, preact=i > 0,
          shortcut_from_preact=self.shortcut_from_preact,
          concat_activated=self.concat_activated, dtype=self.dtype, name=f"block{i + 1}")(x, train)
    x = nn.relu(bn("final_bn")(x))
    f_BxD = jnp.mean(x, axis=(1, 2))
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="fc")(f_BxD)
    return {"logits": logits_BxK.astype(jnp.float32), "features": f_BxD}

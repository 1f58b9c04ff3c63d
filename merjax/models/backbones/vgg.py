"""VGG19 as torchvision builds it (config "E", no BatchNorm): 16 3x3 convs with bias and
ReLU, 5 max-pools, adaptive average pool to 7x7, then 25088 -> 4096 -> 4096 (ReLU, dropout
0.5) and the Linear(4096, K) head. 143,667,240 params with 1000 classes."""

from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.models.backbones.common import Dtype, adaptive_avg_pool, conv

# torchvision cfgs["E"]: channels per conv, "M" = 2x2/2 max-pool.
VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                512, 512, 512, 512, "M", 512, 512, 512, 512, "M")

_LINEAR_INIT = nn.initializers.normal(0.01)  # torchvision: normal(0, 0.01), bias 0


class VGG(nn.Module):
  """Trunk up to fc7. Returns {"features": B x 4096 (fc7 after ReLU and dropout),
  "feature_map": B x H/32 x W/32 x 512 (last conv block, before the 7x7 pool)}.
  Inputs of any size >= 32 work: the adaptive pool repeats cells when the map is < 7x7."""
  config: Sequence[Any] = VGG19_CONFIG
  hidden: int = 4096
  dropout: float = 0.5         # after fc6 and fc7 (torchvision's `dropout`)
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool) -> dict[str, jax.Array]:
    x = x_BxHxWxC.astype(self.dtype)
    i = 0
    for v in self.config:
      if v == "M":
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
      else:
        x = nn.relu(conv(v, 3, use_bias=True, dtype=self.dtype, name=f"conv{i}")(x))
        i += 1
    fmap_BxhxwxC = x
    x = adaptive_avg_pool(x, 7, 7)
    # Flatten in PyTorch's C, H, W order so that torchvision fc6 weights would line up.
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)
    for name in ("fc6", "fc7"):
      x = nn.Dense(self.hidden, dtype=self.dtype, kernel_init=_LINEAR_INIT, name=name)(x)
      x = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(x))
    return {"features": x, "feature_map": fmap_BxhxwxC}


def vgg19(**kwargs: Any) -> VGG:
  return VGG(config=VGG19_CONFIG, **kwargs)

"""STSTNet (Liong et al. 2019) exactly as its official code builds it.

Three parallel streams over a 28 x 28 x 3 (u, v, strain) image: conv 3x3 with
padding 2 (3, 5 and 8 filters), ReLU, BatchNorm (ReLU *before* BN, as the code
does), max-pool 3/3 with padding 1, dropout 0.5; concatenated to 16 channels,
average-pool 2/2, flattened (400) and one linear layer. 1,683 parameters with
3 classes.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn


class STSTNet(nn.Module):
  num_classes: int = 3
  stream_widths: tuple[int, ...] = (3, 5, 8)
  dropout: float = 0.5
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch, train: bool):
    x_BxHxWxC = batch["image"].astype(self.dtype)
    streams = []
    for width in self.stream_widths:
      h = nn.Conv(width, (3, 3), padding=2, dtype=self.dtype)(x_BxHxWxC)
      h = nn.relu(h)
      h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                       dtype=self.dtype)(h)
      h = nn.max_pool(h, (3, 3), strides=(3, 3), padding=((1, 1), (1, 1)))
      h = nn.Dropout(self.dropout, deterministic=not train)(h)
      streams.append(h)
    h_BxhxwxC = jnp.concatenate(streams, axis=-1)
    h_BxhxwxC = nn.avg_pool(h_BxhxwxC, (2, 2), strides=(2, 2))
    features = h_BxhxwxC.reshape(h_BxhxwxC.shape[0], -1)
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(features)
    return {"logits": logits}


def build(model_cfg: dict, num_classes: int) -> STSTNet:
  return STSTNet(num_classes=num_classes, **model_cfg)

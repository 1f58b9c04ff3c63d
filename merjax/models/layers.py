"""Small layers shared by several models."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn


class Dropout(nn.Module):
  """`nn.Dropout` whose rate may be a traced scalar (a per-member sweep value).

  Same random numbers and scaling as `nn.Dropout`: keep with probability
  1 - rate, scale kept values by 1 / (1 - rate). A concrete rate of 0 returns
  the input without drawing a mask.
  """
  rate: Any
  broadcast_dims: Sequence[int] = ()

  @nn.compact
  def __call__(self, x, deterministic: bool):
    concrete = not isinstance(self.rate, jax.Array)
    if deterministic or (concrete and self.rate == 0.0):
      return x
    keep = 1.0 - jnp.asarray(self.rate, jnp.float32)
    shape = list(x.shape)
    for dim in self.broadcast_dims:
      shape[dim] = 1
    mask = jnp.broadcast_to(jax.random.bernoulli(self.make_rng("dropout"), keep, shape), x.shape)
    return jax.lax.select(mask, x / keep.astype(x.dtype), jnp.zeros_like(x))

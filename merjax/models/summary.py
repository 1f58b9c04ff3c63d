"""Parameter counts and output shapes of a model, without running it."""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn


def abstract_variables(model: nn.Module, batch: Mapping[str, Any]):
  """Initialises `model` on `batch` abstractly (no FLOPs, no memory)."""
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  return jax.eval_shape(lambda b: model.init(rngs, b, train=False), dict(batch))


def count_params(params) -> int:
  """Number of learnable scalars (PyTorch convention: BN scale and bias count,
  running statistics live in `batch_stats` and do not)."""
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))


def describe(model: nn.Module, batch_shapes: Mapping[str, tuple[int, ...]]):
  """Returns {"params", "inputs", "outputs"} for a batch of the given shapes."""
  batch = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in batch_shapes.items()}
  variables = abstract_variables(model, batch)
  outputs = jax.eval_shape(
      lambda v, b: model.apply(v, b, train=False), variables, batch)
  return {
      "params": count_params(variables["params"]),
      "inputs": {k: tuple(s) for k, s in batch_shapes.items()},
      "outputs": {k: tuple(v.shape) for k, v in outputs.items()},
  }

"""Helpers for model tests: building by name, variables without compiling random
initialisers, unoptimised jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def materialize(abstract, seed: int = 0):
  """Fills abstract variables (ShapeDtypeStructs) from numpy: BN scale/var 1,
  biases/means 0, other leaves N(0, 1/fan_in). Compiling Flax's random
  initialisers dominates tiny CPU tests; this needs no compilation."""
  rng = np.random.default_rng(seed)

  def leaf(path, s):
    name = path[-1].key
    if name in ("scale", "var"):
      return jnp.ones(s.shape, s.dtype)
    if name in ("bias", "mean"):
      return jnp.zeros(s.shape, s.dtype)
    fan_in = max(int(np.prod(s.shape[:-1])), 1)
    return jnp.asarray(rng.normal(size=s.shape) / np.sqrt(fan_in), s.dtype)

  return jax.tree_util.tree_map_with_path(leaf, abstract)


def jit_unoptimized(fn, **kw):
  """jax.jit with XLA's CPU backend optimisation off (tests are compile-bound)."""
  return jax.jit(fn, compiler_options={"xla_backend_optimization_level": 0}, **kw)


def build(name: str, fields=None, num_classes: int = 3):
  """`registry.build_model({"name": name, **fields}, num_classes)`: the one build path."""
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel
  return build_model({"name": name, **dict(fields or {})}, num_classes)

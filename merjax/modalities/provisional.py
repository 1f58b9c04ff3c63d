"""PROVISIONAL stand-ins for the Active Image and the Affective-Motion Image.

The original formulas (Verma et al., OrigiNet arXiv 2005.07991 section III-A;
AffectiveNet arXiv 2104.07569 section 3.1) were not available to us. These two
kernels are merjax's own *interpretations* of the papers' one-line abstracts;
they are NOT the papers' methods and results from them must not be reported as
such. Each call logs a warning.
"""

from __future__ import annotations

import logging

import functools

import jax
import jax.numpy as jnp

from merjax.modalities.normalize import normalize_image

logger = logging.getLogger("merjax.modalities.provisional")

PROVISIONAL_WARNING = (
    "{name}: PROVISIONAL merjax interpretation, not the published formula "
    "(see docs/modalities.md)")


def _warn(name):
  # Under jit this runs once per trace, i.e. once per compiled shape.
  logger.warning(PROVISIONAL_WARNING.format(name=name))


def _temporal_diffs(frames_TxHxWxC, length):
  """|I_{t+1} - I_t| for t = 1..T-1, zeroed past `length` (T-1 x H x W x C)."""
  f = frames_TxHxWxC.astype(jnp.float32)
  T = f.shape[0]
  L = T if length is None else length
  valid = (jnp.arange(1, T) < L)[:, None, None, None]
  return jnp.where(valid, jnp.abs(f[1:] - f[:-1]), 0.), valid


@functools.partial(jax.jit, static_argnames=('mix', 'normalize'))
def active_image_provisional(frames_TxHxWxC, length=None, mix: float = 0.5,
                             normalize: str = "minmax"):
  """PROVISIONAL. Appearance + accumulated activity:
  (1 - mix) * I_1 + mix * minmax(sum_t |I_{t+1} - I_t|), then `normalize`.
  Reading of "segregate active changes ... into a single frame while
  preserving facial appearance"; not the published formula."""
  _warn("active_image_provisional")
  f = frames_TxHxWxC.astype(jnp.float32)
  if f.shape[0] < 2:
    return normalize_image(f[0], normalize)
  d, _ = _temporal_diffs(f, length)
  activity = normalize_image(jnp.sum(d, axis=0), "minmax")
  return normalize_image((1 - mix) * f[0] + mix * activity, normalize)


@functools.partial(jax.jit, static_argnames=('normalize',))
def affective_motion_provisional(frames_TxHxWxC, length=None,
                                 normalize: str = "minmax"):
  """PROVISIONAL. Accumulated rapid variation: sum over t = 2..L-1 of
  |I_{t+1} - 2 I_t + I_{t-1}| (second temporal difference), then `normalize`.
  Reading of "cumulates rapid and short-lived variational information";
  not the published formula."""
  _warn("affective_motion_provisional")
  f = frames_TxHxWxC.astype(jnp.float32)
  T = f.shape[0]
  if T < 3:
    return jnp.zeros_like(f[0])
  L = T if length is None else length
  valid = (jnp.arange(2, T) < L)[:, None, None, None]
  second = jnp.abs(f[2:] - 2 * f[1:-1] + f[:-2])
  return normalize_image(jnp.sum(jnp.where(valid, second, 0.), axis=0), normalize)

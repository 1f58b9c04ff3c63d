"""On-device augmentation, independent per sample: horizontal flip, rotation,
random translation (the random-crop equivalent at fixed size)."""

from __future__ import annotations

import numbers
from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from merjax.errors import MerjaxError

PREFIX = "train.augment"
# key -> its default (off).
DEFAULTS = {"flip": False, "rotate_deg": 0.0, "translate_px": 0.0}
# key -> what it must be.
KEYS = {
    "flip": "true/false: horizontal flip with probability 1/2",
    "rotate_deg": "a max |angle| in degrees (uniform), or a list of angles (0 added)",
    "translate_px": "a max shift in pixels per axis (uniform; the random-crop equivalent)",
}


def _is_number(v) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_config(config: Mapping[str, Any]) -> None:
  """Checks a `train.augment` group before any data is read: known keys, values of the
  right kind. One-line MerjaxError naming the key and the closest known ones
  (`train.augment.flipp: unknown key; did you mean train.augment.flip?`)."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  schema.check_keys(config, KEYS, PREFIX)
  for key, value in config.items():
    if key == "flip" and not isinstance(value, bool):
      raise MerjaxError(f"{PREFIX}.flip: {value!r} is not true/false")
    if key == "rotate_deg" and isinstance(value, (list, tuple)):
      if not all(_is_number(a) for a in value):
        raise MerjaxError(f"{PREFIX}.rotate_deg: {value!r} is not a list of angles")
    elif key in ("rotate_deg", "translate_px") and not (
        isinstance(value, jax.Array) or (_is_number(value) and value >= 0)):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a number >= 0")


def _affine_sample(x_HxWxC, angle, shift_yx):
  """Rotates by `angle` radians about the centre, then shifts; bilinear, edge
  values repeated."""
  h, w = x_HxWxC.shape[:2]
  yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32),
                        jnp.arange(w, dtype=jnp.float32), indexing="ij")
  cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  ys, xs = yy - cy - shift_yx[0], xx - cx - shift_yx[1]
  src_y = cos * ys - sin * xs + cy
  src_x = sin * ys + cos * xs + cx
  sample = lambda ch: jax.scipy.ndimage.map_coordinates(
      ch, [src_y, src_x], order=1, mode="nearest")
  return jax.vmap(sample, in_axes=-1, out_axes=-1)(x_HxWxC).astype(x_HxWxC.dtype)


def _enabled(value) -> bool:
  """A traced strength (a per-member sweep value) is always on; a constant when non-zero."""
  return isinstance(value, jax.Array) or bool(value)


def augment_sample(key, x, config: Mapping):
  """Augments one sample x (H x W x C, or T x H x W x C with one transform for
  all frames). config: {"flip": bool, "rotate_deg": max |angle| or a list of
  allowed angles, "translate_px": max shift}; the two strengths may be traced
  scalars."""
  config = {**DEFAULTS, **config}
  k_flip, k_rot, k_shift = jax.random.split(key, 3)
  frames = x if x.ndim == 4 else x[None]
  if config["flip"]:
    flip = jax.random.bernoulli(k_flip)
    frames = jnp.where(flip, frames[:, :, ::-1], frames)
  rotate, translate = config["rotate_deg"], config["translate_px"]
  if _enabled(rotate) or _enabled(translate):
    if isinstance(rotate, (list, tuple)):
      choices = jnp.asarray([0.0] + [float(a) for a in rotate])
      angle = jax.random.choice(k_rot, choices)
    else:
      angle = jax.random.uniform(k_rot, minval=-rotate, maxval=rotate)
    translate = jnp.asarray(translate, jnp.float32)
    shift = jax.random.uniform(k_shift, (2,), minval=-translate, maxval=translate)
    frames = jax.vmap(lambda f: _affine_sample(f, jnp.deg2rad(angle), shift))(frames)
  return frames if x.ndim == 4 else frames[0]


def augment_batch(key, batch: Mapping[str, jax.Array], config: Mapping, roles):
  """Augments the arrays of `roles` in a batch, the same transform per sample
  across roles (so apex and flow stay aligned). `config` as `check_config` accepts."""
  check_config(config)
  if not roles or not any(_enabled(v) for v in {**DEFAULTS, **config}.values()):
    return dict(batch)
  b = next(iter(batch.values())).shape[0]
  keys = jax.random.split(key, b)
  out = dict(batch)
  for role in roles:
    out[role] = jax.vmap(lambda k, x: augment_sample(k, x, config))(keys, batch[role])
  return out

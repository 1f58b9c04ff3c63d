"""Scaling of modality images to [0, 1] (shared by every kernel)."""

from __future__ import annotations

import jax.numpy as jnp

NORMALIZE_MODES = ("minmax", "minmax_channel", "none")


def normalize_image(x_HxWxC, mode: str = "minmax"):
  """Scales one image to [0, 1].

  mode: "minmax" (one min and max over the whole image, as Bilen's visualiser
  and FDP's cv2.normalize), "minmax_channel" (per channel, as STSTNet/MEAN),
  "none" (returned unchanged). A constant image (max == min) maps to zeros.
  """
  if mode == "none":
    return x_HxWxC
  if mode == "minmax":
    axes = tuple(range(x_HxWxC.ndim))
  elif mode == "minmax_channel":
    axes = tuple(range(x_HxWxC.ndim - 1))
  else:
    raise ValueError(f"normalize mode '{mode}' not in {NORMALIZE_MODES}")
  lo = jnp.min(x_HxWxC, axis=axes, keepdims=True)
  hi = jnp.max(x_HxWxC, axis=axes, keepdims=True)
  span = hi - lo
  return jnp.where(span > 0, (x_HxWxC - lo) / jnp.where(span > 0, span, 1), 0.)

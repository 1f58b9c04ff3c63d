"""Optical strain and flow images from a flow field H x W x 2.

Convention: flow[..., 0] = u (x displacement, along columns, axis 1),
flow[..., 1] = v (y displacement, along rows, axis 0); u_y = du/dy = du/drow.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from merjax.modalities.normalize import normalize_image

STRAIN_FORMS = ("mer", "dfrnet")
DIFF_SCHEMES = ("central", "backward")


def _central(f_HxW, axis):
  """np.gradient(f, axis=axis): (f[i+1] - f[i-1]) / 2 inside, first-order
  one-sided differences f[1] - f[0] and f[-1] - f[-2] at the two borders."""
  n = f_HxW.shape[axis]
  if n < 2:
    return jnp.zeros_like(f_HxW)
  take = lambda a, b: jnp.take(f_HxW, jnp.arange(a, b), axis=axis)
  first = take(1, 2) - take(0, 1)
  last = take(n - 1, n) - take(n - 2, n - 1)
  inner = (take(2, n) - take(0, n - 2)) / 2
  return jnp.concatenate([first, inner, last], axis=axis)


def _backward(f_HxW, axis):
  """f[i] - f[i-1], 0 on the first row/column (MEAN's feature_extraction.py:
  shift by one, NaN border -> 0)."""
  n = f_HxW.shape[axis]
  take = lambda a, b: jnp.take(f_HxW, jnp.arange(a, b), axis=axis)
  return jnp.concatenate([jnp.zeros_like(take(0, 1)), take(1, n) - take(0, n - 1)],
                         axis=axis)


def flow_derivatives(flow_HxWx2, scheme: str = "central"):
  """(u_x, u_y, v_x, v_y), each H x W, by the named finite-difference scheme."""
  if scheme == "central":
    d = _central
  elif scheme == "backward":
    d = _backward
  else:
    raise ValueError(f"difference scheme '{scheme}' not in {DIFF_SCHEMES}")
  u = flow_HxWx2[..., 0].astype(jnp.float32)
  v = flow_HxWx2[..., 1].astype(jnp.float32)
  return d(u, 1), d(u, 0), d(v, 1), d(v, 0)


@functools.partial(jax.jit, static_argnames=('form', 'scheme'))
def optical_strain(flow_HxWx2, form: str = "mer", scheme: str = "central"):
  """Strain magnitude H x W.

  mer:    sqrt(u_x^2 + v_y^2 + 1/2 (u_y + v_x)^2)   (MEAN/STSTNet lineage).
  dfrnet: sqrt(u_x^2 + v_y^2 + 1/2 (u_y^2 + v_x^2)) (DFR-Net Eq. 7 as printed).
  """
  ux, uy, vx, vy = flow_derivatives(flow_HxWx2, scheme)
  if form == "mer":
    shear = 0.5 * (uy + vx) ** 2
  elif form == "dfrnet":
    shear = 0.5 * (uy ** 2 + vx ** 2)
  else:
    raise ValueError(f"strain form '{form}' not in {STRAIN_FORMS}")
  return jnp.sqrt(ux ** 2 + vy ** 2 + shear)


@jax.jit
def flow_magnitude(flow_HxWx2):
  """sqrt(u^2 + v^2), H x W."""
  return jnp.sqrt(jnp.sum(flow_HxWx2.astype(jnp.float32) ** 2, axis=-1))


def flow_image(flow_HxWx2, normalize: str = "minmax_channel"):
  """(u, v) as an H x W x 2 image."""
  return normalize_image(flow_HxWx2.astype(jnp.float32), normalize)


@functools.partial(jax.jit, static_argnames=('form', 'scheme', 'third', 'normalize'))
def flow_strain_image(flow_HxWx2, form: str = "mer", scheme: str = "central",
                      third: str = "strain", normalize: str = "minmax_channel"):
  """Stacked (u, v, strain) H x W x 3, each channel min-max scaled to [0, 1]
  (STSTNet/HTNet input). third="magnitude" puts the flow magnitude instead
  (HTNet on CAS(ME)^3)."""
  if third == "strain":
    z = optical_strain(flow_HxWx2, form, scheme)
  elif third == "magnitude":
    z = flow_magnitude(flow_HxWx2)
  else:
    raise ValueError(f"third channel '{third}' not in ('strain', 'magnitude')")
  x = jnp.concatenate([flow_HxWx2.astype(jnp.float32), z[..., None]], axis=-1)
  return normalize_image(x, normalize)

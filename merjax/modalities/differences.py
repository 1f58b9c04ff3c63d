"""Key frames and frame differences (DFR-Net Eq. 8). Indices are traced ints."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from merjax.modalities.normalize import normalize_image


def frame_at(frames_TxHxWxC, index):
  """frames[index] with a traced 0-based index, float32."""
  return jnp.take(frames_TxHxWxC, index, axis=0).astype(jnp.float32)


def apex_frame(frames_TxHxWxC, apex_index):
  """The apex frame, unnormalised."""
  return frame_at(frames_TxHxWxC, apex_index)


def onset_frame(frames_TxHxWxC, onset_index=0):
  """The onset frame, unnormalised."""
  return frame_at(frames_TxHxWxC, onset_index)


def abs_difference(frames_TxHxWxC, index_a, index_b, normalize: str = "minmax"):
  """|frames[b] - frames[a]| per pixel and channel, then `normalize`."""
  d = jnp.abs(frame_at(frames_TxHxWxC, index_b) - frame_at(frames_TxHxWxC, index_a))
  return normalize_image(d, normalize)


@functools.partial(jax.jit, static_argnames=('normalize',))
def onset_apex_difference(frames_TxHxWxC, onset_index, apex_index,
                          normalize: str = "minmax"):
  """DFR-Net Eq. 8: D = |I_apex - I_onset|."""
  return abs_difference(frames_TxHxWxC, onset_index, apex_index, normalize)


@functools.partial(jax.jit, static_argnames=('normalize',))
def apex_offset_difference(frames_TxHxWxC, apex_index, offset_index,
                           normalize: str = "minmax"):
  """|I_offset - I_apex| (the falling phase's counterpart of Eq. 8)."""
  return abs_difference(frames_TxHxWxC, apex_index, offset_index, normalize)

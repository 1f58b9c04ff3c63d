"""Approximate rank pooling (dynamic images), MESTI and DIANet phase images.

Weights come in two forms: numpy functions with static arguments (public,
exact, used by tests and plots) and jnp functions of a *traced* clip length /
apex, so one jitted kernel serves every clip of a padded length bucket:
frames past `length` get weight 0.

Frame indices t are 1-based in the formulas; `apex` arguments of the public
numpy functions are 1-based (as in the papers); the jnp kernels take 0-based
`apex_index` (as `Clip.apex`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from merjax.modalities.normalize import normalize_image

RANK_POOLING_KINDS = ("harmonic", "linear")


# ---------------------------------------------------------------- numpy weights


def rank_pooling_weights(T: int, kind: str = "harmonic") -> np.ndarray:
  """ARP coefficients alpha_1..alpha_T (float64), summing to 0.

  linear: alpha_t = 2t - T - 1 (ARP on raw frames; MESTI, DIANet).
  harmonic: alpha_t = sum_{k=t..T} (2k - T - 1) / k (Bilen's dynamic image,
    FDP) = the linear weights applied to running means of the frames.
  T = 1 gives weight 0 for both (FDP's behaviour; Bilen special-cases 1).
  """
  if T < 1:
    raise ValueError(f"rank_pooling_weights: T={T} < 1")
  t = np.arange(1, T + 1, dtype=np.float64)
  linear = 2 * t - T - 1
  if kind == "linear":
    return linear
  if kind == "harmonic":
    return np.cumsum((linear / t)[::-1])[::-1]
  raise ValueError(f"rank pooling kind '{kind}' not in {RANK_POOLING_KINDS}")


def middle_apex(T: int) -> int:
  """1-based middle frame of T frames: (T + 1) // 2 (= Clip.apex_or_middle)."""
  return (T + 1) // 2


def mesti_weights(T: int, apex: int | None = None) -> np.ndarray:
  """MESTI coefficients (seed 000 Eq. 4): apex a 1-based, None = middle frame.

  alpha_t = 2t - a - 1 for t <= a (ARP over the onset segment, apex included),
  alpha_t = T - 2t + a + 1 for t > a (reversed ARP over a+1..T).
  """
  a = middle_apex(T) if apex is None else int(apex)
  if not 1 <= a <= T:
    raise ValueError(f"mesti_weights: apex {a} outside 1..{T}")
  t = np.arange(1, T + 1, dtype=np.float64)
  return np.where(t <= a, 2 * t - a - 1, T - 2 * t + a + 1)


def di_phase_weights(T: int, apex: int | None = None,
                     apex_in_both: bool = True) -> tuple[np.ndarray, np.ndarray]:
  """DIANet DI-Onset / DI-Offset coefficients over the whole clip (seed 004).

  DI-Onset: frames 1..a, alpha_t = 2t - L - 1 (L = a), zero elsewhere.
  DI-Offset: frames a..T (apex_in_both=True, default) or a+1..T (False, the
    MESTI split), local s = 1..L, alpha'_s = L + 1 - 2s, zero elsewhere.
  Returns (onset_T, offset_T), float64.
  """
  a = middle_apex(T) if apex is None else int(apex)
  if not 1 <= a <= T:
    raise ValueError(f"di_phase_weights: apex {a} outside 1..{T}")
  onset = np.zeros(T)
  onset[:a] = rank_pooling_weights(a, "linear")
  offset = np.zeros(T)
  start = a - 1 if apex_in_both else a
  if start < T:
    offset[start:] = rank_pooling_weights(T - start, "linear")[::-1]
  return onset, offset


# ---------------------------------------------------------------- jnp weights


def _t(T: int):
  return jnp.arange(1, T + 1, dtype=jnp.float32)


def rank_pooling_weights_jnp(T: int, length, kind: str = "harmonic"):
  """rank_pooling_weights(length, kind) zero-padded to T (length traced)."""
  t = _t(T)
  L = jnp.asarray(length, jnp.float32)
  valid = t <= L
  linear = jnp.where(valid, 2 * t - L - 1, 0.)
  if kind == "linear":
    return linear
  if kind == "harmonic":
    return jnp.cumsum((linear / t)[::-1])[::-1]
  raise ValueError(f"rank pooling kind '{kind}' not in {RANK_POOLING_KINDS}")


def mesti_weights_jnp(T: int, length, apex_index):
  """mesti_weights(length, apex_index + 1) zero-padded to T (traced args)."""
  t = _t(T)
  L = jnp.asarray(length, jnp.float32)
  a = jnp.asarray(apex_index, jnp.float32) + 1
  w = jnp.where(t <= a, 2 * t - a - 1, L - 2 * t + a + 1)
  return jnp.where(t <= L, w, 0.)


def di_phase_weights_jnp(T: int, length, apex_index, apex_in_both: bool = True):
  """di_phase_weights(length, apex_index + 1) zero-padded to T (traced args)."""
  t = _t(T)
  L = jnp.asarray(length, jnp.float32)
  a = jnp.asarray(apex_index, jnp.float32) + 1
  onset = jnp.where(t <= a, 2 * t - a - 1, 0.)
  start = a if apex_in_both else a + 1          # first offset frame, 1-based
  n = L - start + 1                             # offset segment length
  s = t - start + 1
  offset = jnp.where((t >= start) & (t <= L), n + 1 - 2 * s, 0.)
  return onset, offset


# ---------------------------------------------------------------- kernels


def weighted_sum(frames_TxHxWxC, weights_T):
  """sum_t weights_t * frames_t in float32."""
  return jnp.tensordot(weights_T.astype(jnp.float32),
                       frames_TxHxWxC.astype(jnp.float32), axes=1)


def _length(frames_TxHxWxC, length):
  return frames_TxHxWxC.shape[0] if length is None else length


def _apex(length, apex_index):
  """0-based apex; None -> middle frame (length - 1) // 2."""
  if apex_index is None:
    return (jnp.asarray(length) - 1) // 2
  return apex_index


@functools.partial(jax.jit, static_argnames=('kind', 'normalize'))
def dynamic_image(frames_TxHxWxC, length=None, kind: str = "harmonic",
                  normalize: str = "minmax"):
  """Dynamic image of the first `length` frames (default all), H x W x C."""
  T = frames_TxHxWxC.shape[0]
  w = rank_pooling_weights_jnp(T, _length(frames_TxHxWxC, length), kind)
  return normalize_image(weighted_sum(frames_TxHxWxC, w), normalize)


@functools.partial(jax.jit, static_argnames=('normalize',))
def mesti(frames_TxHxWxC, length=None, apex_index=None,
          normalize: str = "minmax"):
  """MESTI (seed 000 Eq. 5) with the 0-based apex (None = middle frame)."""
  T = frames_TxHxWxC.shape[0]
  L = _length(frames_TxHxWxC, length)
  w = mesti_weights_jnp(T, L, _apex(L, apex_index))
  return normalize_image(weighted_sum(frames_TxHxWxC, w), normalize)


@functools.partial(jax.jit, static_argnames=('normalize',))
def di_onset(frames_TxHxWxC, length=None, apex_index=None,
             normalize: str = "minmax"):
  """DIANet DI-Onset (seed 004 Eq. 2): linear ARP over onset..apex."""
  T = frames_TxHxWxC.shape[0]
  L = _length(frames_TxHxWxC, length)
  w, _ = di_phase_weights_jnp(T, L, _apex(L, apex_index))
  return normalize_image(weighted_sum(frames_TxHxWxC, w), normalize)


@functools.partial(jax.jit, static_argnames=('apex_in_both', 'normalize'))
def di_offset(frames_TxHxWxC, length=None, apex_index=None,
              apex_in_both: bool = True, normalize: str = "minmax"):
  """DIANet DI-Offset (seed 004 Eq. 3): reversed ARP over apex..offset
  (apex_in_both=True) or apex+1..offset (False)."""
  T = frames_TxHxWxC.shape[0]
  L = _length(frames_TxHxWxC, length)
  _, w = di_phase_weights_jnp(T, L, _apex(L, apex_index), apex_in_both)
  return normalize_image(weighted_sum(frames_TxHxWxC, w), normalize)

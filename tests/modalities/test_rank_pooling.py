"""Rank pooling, MESTI and DIANet weights and kernels vs numpy references."""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.modalities import mesti_weights, rank_pooling_weights
from merjax.modalities import rank_pooling as rp


def _bilen_exact(T):
  """Bilen's fw_i = sum_{k=i..T} (2k - T - 1) / k in rational arithmetic."""
  return [sum(Fraction(2 * k - T - 1, k) for k in range(i, T + 1)) for i in range(1, T + 1)]


def test_harmonic_vectors():
  np.testing.assert_allclose(rank_pooling_weights(2, "harmonic"), [-0.5, 0.5])
  np.testing.assert_allclose(rank_pooling_weights(3, "harmonic"), [-4 / 3, 2 / 3, 2 / 3])
  want = [Fraction(n, d) for n, d in [(-2369, 280), (-409, 280), (291, 280), (571, 280),
                                      (641, 280), (117, 56), (89, 56), (7, 8)]]
  assert _bilen_exact(8) == want
  np.testing.assert_allclose(rank_pooling_weights(8, "harmonic"), [float(w) for w in want],
                             rtol=1e-12)


def test_linear_vector_and_sums():
  np.testing.assert_array_equal(rank_pooling_weights(8, "linear"), np.arange(-7, 8, 2))
  for T in range(1, 20):
    for kind in ("linear", "harmonic"):
      assert abs(rank_pooling_weights(T, kind).sum()) < 1e-9


def test_harmonic_equals_linear_on_running_means():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(9, 4))
  running = np.cumsum(x, 0) / np.arange(1, 10)[:, None]
  np.testing.assert_allclose(rank_pooling_weights(9, "harmonic") @ x,
                             rank_pooling_weights(9, "linear") @ running, atol=1e-10)


def test_mesti_vectors():
  np.testing.assert_array_equal(mesti_weights(8, 3), [-2, 0, 2, 4, 2, 0, -2, -4])
  np.testing.assert_array_equal(mesti_weights(8, 8), rank_pooling_weights(8, "linear"))
  np.testing.assert_array_equal(mesti_weights(8, 1), [0, 6, 4, 2, 0, -2, -4, -6])
  np.testing.assert_array_equal(mesti_weights(7), mesti_weights(7, 4))
  np.testing.assert_array_equal(mesti_weights(1, 1), [0])


def test_di_phase_vectors():
  on, off = rp.di_phase_weights(7, 3)                     # apex in both
  np.testing.assert_array_equal(on, [-2, 0, 2, 0, 0, 0, 0])
  np.testing.assert_array_equal(off, [0, 0, 4, 2, 0, -2, -4])
  on, off = rp.di_phase_weights(8, 3, apex_in_both=False)  # MESTI split
  np.testing.assert_array_equal(on + off, mesti_weights(8, 3))


@pytest.mark.parametrize("T", [1, 2, 5, 8])
def test_jnp_weights_match_numpy_with_padding(T):
  pad = 11
  for kind in ("linear", "harmonic"):
    w = np.asarray(rp.rank_pooling_weights_jnp(pad, T, kind))
    np.testing.assert_allclose(w[:T], rank_pooling_weights(T, kind), rtol=1e-5, atol=1e-5)
    assert not w[T:].any()
  for a in range(1, T + 1):
    w = np.asarray(rp.mesti_weights_jnp(pad, T, a - 1))
    np.testing.assert_array_equal(w[:T], mesti_weights(T, a))
    assert not w[T:].any()
    for both in (True, False):
      on, off = rp.di_phase_weights_jnp(pad, T, a - 1, both)
      ref_on, ref_off = rp.di_phase_weights(T, a, both)
      np.testing.assert_array_equal(np.asarray(on)[:T], ref_on)
      np.testing.assert_array_equal(np.asarray(off)[:T], ref_off)
      assert not np.asarray(off)[T:].any()


def _minmax(x):
  span = x.max() - x.min()
  return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def test_kernels_match_numpy_reference_vmapped():
  rng = np.random.default_rng(1)
  frames = rng.uniform(size=(3, 10, 6, 5, 3)).astype(np.float32)   # N x Tpad x H x W x C
  lengths = np.array([10, 7, 4], np.int32)
  apexes = np.array([3, 6, 0], np.int32)
  for fn, ref in [
      (lambda f, L, a: rp.dynamic_image(f, L, "harmonic"),
       lambda f, L, a: rank_pooling_weights(L, "harmonic")),
      (lambda f, L, a: rp.dynamic_image(f, L, "linear"),
       lambda f, L, a: rank_pooling_weights(L, "linear")),
      (rp.mesti, lambda f, L, a: mesti_weights(L, a + 1)),
      (rp.di_onset, lambda f, L, a: rp.di_phase_weights(L, a + 1)[0]),
      (rp.di_offset, lambda f, L, a: rp.di_phase_weights(L, a + 1)[1])]:
    got = np.asarray(jax.jit(jax.vmap(fn))(frames, lengths, apexes))
    for i in range(3):
      L, a = lengths[i], apexes[i]
      want = _minmax(np.tensordot(ref(frames[i], L, a), frames[i, :L].astype(np.float64), 1))
      np.testing.assert_allclose(got[i], want, atol=2e-5)


def test_degenerate_segments_give_zeros_not_nan():
  f = jnp.ones((4, 3, 3, 1))
  for img in (rp.dynamic_image(f, 1), rp.di_onset(f, 4, 0), rp.mesti(f, 4, 0),
              rp.di_offset(f, 4, 3)):
    assert np.isfinite(np.asarray(img)).all() and not np.asarray(img).any()


def test_normalize_none_keeps_raw_sum():
  f = jnp.arange(3.)[:, None, None, None] * jnp.ones((3, 2, 2, 1))
  np.testing.assert_allclose(rp.dynamic_image(f, kind="linear", normalize="none"),
                             np.full((2, 2, 1), 4.0))  # -2*0 + 0*1 + 2*2

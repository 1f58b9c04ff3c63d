"""Key frames and frame differences vs numpy."""

import jax
import numpy as np

from merjax.modalities import differences as d


def test_differences_vmapped():
  rng = np.random.default_rng(0)
  f = rng.uniform(size=(2, 6, 4, 5, 3)).astype(np.float32)
  on, ap, off = np.array([0, 1]), np.array([3, 2]), np.array([5, 4])
  got_oa = jax.jit(jax.vmap(lambda x, o, a: d.onset_apex_difference(x, o, a, "none")))(f, on, ap)
  got_ao = jax.jit(jax.vmap(lambda x, a, e: d.apex_offset_difference(x, a, e, "none")))(f, ap, off)
  got_apex = jax.vmap(d.apex_frame)(f, ap)
  for i in range(2):
    np.testing.assert_allclose(got_oa[i], np.abs(f[i, ap[i]] - f[i, on[i]]), atol=1e-7)
    np.testing.assert_allclose(got_ao[i], np.abs(f[i, off[i]] - f[i, ap[i]]), atol=1e-7)
    np.testing.assert_array_equal(got_apex[i], f[i, ap[i]])
  np.testing.assert_array_equal(d.onset_frame(f[0]), f[0, 0])


def test_difference_minmax():
  f = np.zeros((3, 2, 2, 1), np.float32)
  f[2, 0, 0, 0] = 0.2
  f[2, 1, 1, 0] = 0.1
  out = np.asarray(d.onset_apex_difference(f, 0, 2))
  np.testing.assert_allclose(out[..., 0], [[1, 0], [0, 0.5]], atol=1e-6)
  assert not np.asarray(d.onset_apex_difference(f, 0, 1)).any()   # no motion -> zeros

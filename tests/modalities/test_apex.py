"""D&C-RoIs apex spotting on synthetic clips with a known apex."""

import jax
import numpy as np

from merjax.modalities import apex as ap


def _lbp_np(g):
  H, W = g.shape
  c = g[1:-1, 1:-1]
  code = np.zeros(c.shape, np.int64)
  for k, (dy, dx) in enumerate(ap._LBP_OFFSETS):
    code |= (g[1 + dy:H - 1 + dy, 1 + dx:W - 1 + dx] >= c).astype(np.int64) << k
  return code


def test_lbp_matches_numpy():
  g = np.random.default_rng(0).integers(0, 4, (9, 12)).astype(np.float32)  # many ties
  np.testing.assert_array_equal(np.asarray(ap.lbp_codes(g)), _lbp_np(g))


def blob_clip(T, apex, size=48, seed=0, noise=1.0):
  """Textured face-sized image with Gaussian blobs at eye/mouth places that move
  by intensity(t): rising linearly to 1 at `apex`, falling after."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
  base = rng.uniform(60, 200, (size, size)).astype(np.float32)
  base = np.asarray(jax.image.resize(base[::4, ::4], (size, size), "linear"))
  t = np.arange(T)
  inten = np.where(t <= apex, t / max(apex, 1), (T - 1 - t) / max(T - 1 - apex, 1))
  frames = []
  for k in range(T):
    img = base.copy()
    for cy, cx in [(0.3, 0.3), (0.3, 0.7), (0.78, 0.5)]:
      dy = 3.0 * inten[k]
      img += 80 * np.exp(-((yy - cy * size - dy) ** 2 + (xx - cx * size) ** 2) / 18.)
    img += rng.normal(0, noise, img.shape)
    frames.append(img)
  return np.clip(np.stack(frames), 0, 255)[..., None].astype(np.float32)


def test_spot_apex_known_apex_vmapped():
  T = 24
  apexes = [5, 12, 19]
  clips = np.stack([blob_clip(T, a, seed=i) for i, a in enumerate(apexes)])
  lengths = np.array([T, T, 22], np.int32)
  got, scores = jax.jit(jax.vmap(lambda f, L: ap.spot_apex(f, L)))(clips, lengths)
  for g, a in zip(np.asarray(got), apexes):
    assert abs(int(g) - a) <= 2, (got, apexes)
  assert np.asarray(scores)[2, 22:].sum() == 0


def test_divide_and_conquer_rules():
  s = np.array([0, 1, 2, 3, 9, 3, 2, 1, 0, 0, 5, 0], np.float32)  # isolated spike at 10
  assert int(ap.divide_and_conquer_peak(s)) == 4
  assert int(ap.divide_and_conquer_peak(s, length=4)) == 3
  assert int(ap.divide_and_conquer_peak(s, length=1)) == 0


def test_middle_frame():
  assert ap.middle_frame(3, 10) == 6

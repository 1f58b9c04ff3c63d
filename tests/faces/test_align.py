"""Detection and alignment on real faces: skimage's astronaut and known warps of it."""

import cv2
import numpy as np
import pytest

from merjax import faces
from merjax.errors import MerjaxError
from merjax.faces import align, ibug68
from tests.faces.conftest import similar


def test_detector_finds_the_astronaut(astronaut, astronaut_68):
  lm = astronaut_68
  assert lm.shape == (68, 2) and lm.dtype == np.float32
  right, left = faces.eye_centres(lm)            # image-left eye first
  # Where the face is (the photograph's face spans about x 180..275, y 60..170).
  assert 190 < right[0] < left[0] < 260 and 90 < right[1] < 115 and 90 < left[1] < 115
  nose, mouth = lm[ibug68.NOSE_TIP], lm[list(ibug68.MOUTH)].mean(0)
  assert right[1] < nose[1] < mouth[1] and right[0] < nose[0] < left[0]
  # Grey input (SAMM is grey) finds the same face.
  grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
  assert np.abs(faces.detect_landmarks(grey[..., None]) - lm).max() <= 3


def test_no_face_is_none_and_align_names_the_frame(coffee, astronaut):
  assert faces.detect_landmarks(coffee) is None
  clip = np.stack([cv2.resize(coffee, (512, 512))] * 2)
  with pytest.raises(faces.NoFaceError, match="frame 0: no face found") as e:
    faces.align_clip(clip)
  assert isinstance(e.value, MerjaxError) and e.value.frame == 0
  mixed = np.stack([astronaut, cv2.resize(coffee, (512, 512))])
  with pytest.raises(faces.NoFaceError, match="frame 1") as e:
    faces.align_clip(mixed, recipe="fdp_release")
  assert e.value.frame == 1


@pytest.mark.parametrize("angle,scale,shift", [(-20, 1.0, (6.3, -3.1)), (12, 0.8, (-9.5, 4.2)),
                                               (25, 1.25, (3.7, 8.9)), (0, 1.15, (0.4, 0.6))])
def test_alignment_recovers_rotation_and_scale(astronaut, angle, scale, shift):
  """Aligning a warped copy equals aligning the original after undoing the warp:
  M' A = M within 1 degree and 2 % of scale."""
  _, M = faces.align_clip(astronaut[None], size=128)
  warped, A = similar(astronaut, angle, scale, shift)
  aligned, M2 = faces.align_clip(warped[None], size=128)
  assert aligned.shape == (1, 128, 128, 3) and M2.shape == (2, 3)
  a0, s0, *_ = faces.similarity_params(M)
  a1, s1, *_ = faces.similarity_params(align.compose(M2, A))
  assert abs(a1 - a0) < 1.0
  assert abs(s1 / s0 - 1) < 0.02
  # The warp's own angle and scale, read back from M2 alone.
  a2, s2, *_ = faces.similarity_params(M2)
  assert abs((a2 - a0) - angle) < 1.0 and abs(s0 / s2 / scale - 1) < 0.02
  # The aligned eye line is horizontal.
  lm = faces.apply(M2, faces.detect_landmarks(warped))
  r, l = faces.eye_centres(lm)
  assert abs(np.degrees(np.arctan2(l[1] - r[1], l[0] - r[0]))) < 1.0


def _shift_estimate(a, b, iterations=4):
  """(dx, dy) with b(x) = a(x - d), by Lucas-Kanade on the grey images (Gaussian
  sigma 1, central half of the frame), iterated."""
  g = lambda x: cv2.GaussianBlur(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32),
                                 (0, 0), 1.0)
  A, B = g(a), g(b)
  H, W = A.shape
  win = (slice(H // 4, 3 * H // 4), slice(W // 4, 3 * W // 4))
  gy, gx = np.gradient(A)
  J = np.stack([gx[win].ravel(), gy[win].ravel()], 1).astype(np.float64)
  yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
  d = np.zeros(2)
  for _ in range(iterations):
    back = cv2.remap(B, xx + np.float32(d[0]), yy + np.float32(d[1]), cv2.INTER_CUBIC)
    r = (back - A)[win].ravel().astype(np.float64)
    d -= np.linalg.lstsq(J, r, rcond=None)[0]
  return d


@pytest.mark.parametrize("reference", ["onset", "mean"])
def test_alignment_keeps_sub_pixel_shifts(astronaut, reference):
  """A clip of one face shifted by known sub-pixel amounts keeps those shifts
  (mapped by the clip's one transform) after alignment: no motion is added."""
  shifts = np.array([[0, 0], [0.25, 0.0], [0.5, -0.25], [0.75, 0.5], [0.3, 0.9]])
  frames = np.stack([similar(astronaut, 0, 1.0, tuple(d))[0] for d in shifts])
  aligned, M = faces.align_clip(frames, reference=reference, size=160)
  assert M.shape == (2, 3)
  expected = shifts @ M[:, :2].T                   # a shift maps by the linear part
  got = np.stack([_shift_estimate(aligned[0], a) for a in aligned])
  assert np.abs(got - expected).max() < 0.1       # px; the shifts reach 1.3 px
  # Per-frame alignment (FDP's release) re-fits every frame instead: one
  # transform per frame, which is what the clip transform avoids.
  _, Ms = faces.align_clip(frames, recipe="fdp_release")
  assert Ms.shape == (5, 2, 3)


def test_fdp_release_recipe(astronaut, astronaut_68):
  """FDP's data.py align_face: eye centres, nose tip and mouth corners, enlarge
  2.5, 64 x 64, border 128 (computed here from its formula)."""
  aligned, Ms = faces.align_clip(astronaut[None], recipe="fdp_release")
  assert aligned.shape == (1, 64, 64, 3) and Ms.shape == (1, 2, 3)
  lm = align.fdp_frame_landmarks(astronaut).astype(np.float64)
  le, re_ = lm[36:42].mean(0), lm[42:48].mean(0)
  d = re_ - le
  c, s = d / np.hypot(*d)
  R = np.array([[c, s], [-s, c]])
  pts = np.stack([le, re_, lm[30], lm[48], lm[54]]) @ R.T
  lo, hi = pts.min(0), pts.max(0)
  half = 0.5 * 2.5 * (hi - lo).max()
  scale = (64 - 1) / 2.0 / half
  expected = np.concatenate([scale * R, (scale * (half - (lo + hi) / 2))[:, None]], 1)
  np.testing.assert_allclose(Ms[0], expected, atol=1e-9)
  ref = cv2.warpAffine(astronaut, expected, (64, 64), flags=cv2.INTER_LINEAR,
                       borderValue=(128, 128, 128))
  diff = np.abs(aligned[0].astype(int) - ref.astype(int))
  assert diff.max() <= 1 and diff.mean() < 0.01       # fixed-point rounding of the map
  # A face near the frame's left edge: where the box leaves the frame, 128.
  edge, _ = similar(astronaut, 0, 1.0, (-172.0, 0.0))
  out, Me = faces.align_clip(edge[None], recipe="fdp_release")
  yy, xx = np.mgrid[0:64, 0:64]
  src = faces.apply(faces.invert(Me[0]), np.stack([xx.ravel(), yy.ravel()], 1))
  outside = (src[:, 0] < -1).reshape(64, 64)
  assert outside.sum() > 20 and (out[0][outside] == 128).all()


def test_size_margin_crop_and_options(astronaut):
  a, M = faces.align_clip(astronaut[None], size=72, crop_size=64)
  b, M72 = faces.align_clip(astronaut[None], size=72)
  assert a.shape == (1, 64, 64, 3)
  assert np.abs(a[0].astype(int) - b[0, 4:68, 4:68]).max() <= 1   # fixed-point rounding
  np.testing.assert_allclose(M[:, 2], M72[:, 2] - 4)
  wide, Mw = faces.align_clip(astronaut[None], size=72, margin=0.3)
  assert faces.similarity_params(Mw)[1] < faces.similarity_params(M72)[1]
  own, Mo = faces.align_clip(astronaut[None])          # size None: the face's own side
  assert abs(faces.similarity_params(Mo)[1] - 1) < 0.01
  with pytest.raises(MerjaxError, match="recipe 'dlib68'"):
    faces.align_clip(astronaut[None], recipe="dlib68")
  with pytest.raises(MerjaxError, match="reference 'apex'"):
    faces.align_clip(astronaut[None], reference="apex")
  with pytest.raises(MerjaxError, match="crop size 80 exceeds"):
    faces.align_clip(astronaut[None], size=72, crop_size=80)


def test_transform_helpers():
  M = np.array([[0.9, 0.2, 5.0], [-0.2, 0.9, -3.0]])
  pts = np.array([[1.0, 2.0], [10.0, -4.0]])
  np.testing.assert_allclose(faces.apply(faces.invert(M), faces.apply(M, pts)), pts)
  np.testing.assert_allclose(align.compose(faces.invert(M), M), np.eye(2, 3), atol=1e-12)
  W = align.whole_frame_transform((480, 640), 96)
  np.testing.assert_allclose(faces.apply(W, [[80 - 0.5, -0.5], [559.5, 479.5]]),
                             [[-0.5, -0.5], [95.5, 95.5]], atol=1e-9)

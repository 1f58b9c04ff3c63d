"""Tests of the synthetic micro-expression dataset."""

import dataclasses
import functools

import cv2
import numpy as np
import pytest

from merjax.data import synthetic as syn
from merjax.errors import MerjaxError

# Small enough to generate in well under a second.
TINY = syn.SyntheticConfig(num_subjects=3, clips_per_subject=4, size=48,
                           min_frames=8, max_frames=12)


@functools.cache
def _make(config: syn.SyntheticConfig):
  return syn.make_synthetic(config)


def test_same_seed_same_data_other_seed_other_data():
  a, b = _make(TINY), syn.make_synthetic(TINY)
  assert [c.key for c in a] == [c.key for c in b]
  for x, y in zip(a, b):
    assert (x.label, x.onset, x.apex, x.offset) == (y.label, y.onset, y.apex, y.offset)
    np.testing.assert_array_equal(x.frames, y.frames)
  c = _make(dataclasses.replace(TINY, seed=1))
  assert not np.array_equal(a[0].frames[0], c[0].frames[0])


def test_records_shapes_indices_and_names():
  clips = _make(TINY)
  assert len(clips) == 12
  assert [c.subject for c in clips[:5]] == ["s01"] * 4 + ["s02"]
  assert clips[5].clip_id == "s02_c002"
  assert clips[5].source == "synthetic seed 0 clip s02_c002"
  assert len({c.key for c in clips}) == 12
  for c in clips:
    t = c.num_frames
    assert c.dataset == "synthetic"
    assert c.frames.dtype == np.uint8 and c.frames.shape == (t, 48, 48, 3)
    assert 8 <= t <= 12
    assert 1 <= c.onset < c.apex < c.offset <= t - 1
    assert c.offset >= t - 1 - t // 10
    assert c.label in syn.CLASS_NAMES[:5]
    assert c.action_units == tuple(au for au, _ in syn.CLASS_MOTIONS[c.label])
    assert c.read_frames() is c.frames


def test_withhold_apex_keeps_the_motion():
  clips = _make(dataclasses.replace(TINY, withhold_apex=True))
  assert all(c.apex is None for c in clips)
  for x, y in zip(clips, _make(TINY)):
    np.testing.assert_array_equal(x.frames, y.frames)
    assert x.apex_or_middle == (y.onset + y.offset) // 2


def test_class_counts_follow_imbalance():
  config = syn.SyntheticConfig(num_subjects=10, clips_per_subject=12, imbalance=3.0)
  counts = syn.class_counts(config)
  assert counts.sum() == 120 and len(counts) == 5
  assert np.all(np.diff(counts) < 0)
  assert counts[0] / counts[-1] == pytest.approx(3.0, rel=0.1)
  np.testing.assert_array_equal(
      syn.class_counts(dataclasses.replace(config, imbalance=1.0)), [24] * 5)
  labels = [p.label_index for p in syn.plan_clips(
      dataclasses.replace(config, size=32))]
  np.testing.assert_array_equal(np.bincount(labels), counts)


def test_number_of_classes_and_bad_options():
  three = _make(dataclasses.replace(TINY, num_classes=3))
  assert {c.label for c in three} == {"happiness", "disgust", "surprise"}
  plans = syn.plan_clips(dataclasses.replace(TINY, num_classes=7, num_subjects=4))
  assert sorted({p.label_index for p in plans}) == list(range(7))
  with pytest.raises(MerjaxError, match="num_classes"):
    syn.make_synthetic(dataclasses.replace(TINY, num_classes=8))
  with pytest.raises(MerjaxError, match="min_frames"):
    syn.make_synthetic(dataclasses.replace(TINY, min_frames=9, max_frames=8))
  with pytest.raises(MerjaxError, match=r"^data.synthetic.colour: unknown key; known: "):
    syn.load(colour=1)
  with pytest.raises(MerjaxError, match=r"^data.synthetic.num_subject: unknown key; "
                                        r"did you mean data.synthetic.num_subjects\?$"):
    syn.load(None, num_subject=2)
  clips = syn.load(num_subjects=2, clips_per_subject=3, size=32, min_frames=6,
                   max_frames=6, seed=4)
  assert len(clips) == 6 and clips[0].frames.shape == (6, 32, 32, 3)
  assert clips[0].source == "synthetic seed 4 clip s01_c001"


def test_intensity_curve_rises_peaks_and_falls():
  curve = syn.intensity_curve(20, onset=3, apex=9, offset=17, residual=0.05)
  assert curve.shape == (20,) and curve.dtype == np.float32
  np.testing.assert_array_equal(curve[:4], 0.0)
  assert curve[9] == 1.0 and curve.max() == 1.0
  assert np.all(np.diff(curve[3:10]) > 0) and np.all(np.diff(curve[9:]) < 0)
  assert curve[17] == pytest.approx(0.05)


def test_displacement_is_one_to_three_px_at_apex_and_zero_at_onset():
  config = syn.SyntheticConfig(num_subjects=6, clips_per_subject=5, size=96,
                               num_classes=7)
  peaks = []
  for p in syn.plan_clips(config):
    class_field = syn.displacement_field(p.class_Mx5, 96)
    total = syn.cap_magnitude(syn.displacement_field(
        np.concatenate([p.class_Mx5, p.idio_Mx5]), 96), p.cap_px)
    class_mag = np.sqrt((class_field ** 2).sum(-1))
    total_mag = np.sqrt((total ** 2).sum(-1))
    peak = p.intensity_T[p.apex] * class_mag.max()
    assert 1.0 <= peak <= 3.0
    assert p.intensity_T[p.apex] * total_mag.max() <= 3.0 + 1e-5
    assert p.intensity_T[p.onset] == 0.0
    peaks.append(peak)
    # The peak sits at the AU places: within a window width of some centre.
    y, x = np.unravel_index(class_mag.argmax(), class_mag.shape)
    centres = p.class_Mx5[:, :2]
    sigmas = p.class_Mx5[:, 2]
    assert np.any(np.hypot(centres[:, 0] - x, centres[:, 1] - y) < 1.5 * sigmas)
  assert np.std(peaks) > 0.2   # amplitudes vary by subject and clip


def test_rendered_motion_is_local_to_the_au_places():
  # Without noise and jitter the onset frame is the neutral face and the
  # onset-apex difference lies where the displacement field is.
  config = syn.SyntheticConfig(num_subjects=2, clips_per_subject=10, size=64,
                               min_frames=10, max_frames=12, noise_std=0.0,
                               jitter_px=0.0)
  geoms = [syn.subject_geometry(config, i) for i in range(2)]
  faces = [syn.render_face(g, 64) for g in geoms]
  upper = {"surprise", "others"}
  for p in syn.plan_clips(config, geoms):
    frames = syn.render_clip(p, faces[p.subject_index], None)
    np.testing.assert_array_equal(frames[0], frames[p.onset])
    np.testing.assert_array_less(np.abs(frames[0].astype(int) - faces[p.subject_index]), 1)
    diff_HxW = np.abs(frames[p.apex].astype(float) - frames[p.onset]).sum(-1)
    field = syn.displacement_field(np.concatenate([p.class_Mx5, p.idio_Mx5]), 64)
    near = np.sqrt((field ** 2).sum(-1)) > 0.03
    assert diff_HxW[near].sum() > 0.97 * diff_HxW.sum()
    assert near.mean() < 0.3
    # Brow classes move the upper face, mouth classes the lower face.
    geom = geoms[p.subject_index]
    class_diff = diff_HxW * (np.sqrt((syn.displacement_field(p.class_Mx5, 64) ** 2)
                                     .sum(-1)) > 0.1)
    split = int(geom["cy"])
    top, bottom = class_diff[:split].sum(), class_diff[split:].sum()
    name = syn.CLASS_NAMES[p.label_index]
    assert (top > 3 * bottom) if name in upper else (bottom > 3 * top), name


def test_sensor_noise_and_jitter_levels():
  still = syn.SyntheticConfig(num_subjects=1, clips_per_subject=1, size=64,
                              min_frames=6, max_frames=6, motion_px=0.0,
                              jitter_px=0.0, noise_std=2.0)
  frames = _make(still)[0].frames.astype(float)
  step = frames[1:] - frames[:-1]
  # Two independent noise draws, each rounded: var = 2 (4 + 1/12).
  assert step.std() == pytest.approx(np.sqrt(2 * (4 + 1 / 12)), rel=0.1)
  assert abs(step.mean()) < 0.05
  quiet = _make(dataclasses.replace(still, noise_std=0.0))[0].frames
  assert np.all(quiet == quiet[0])
  shaky = _make(dataclasses.replace(still, noise_std=0.0, jitter_px=0.3))[0].frames
  assert np.abs(shaky[1].astype(int) - shaky[0]).max() > 5


def _features(clips, kind):
  """Grey face-interior crop (central 60%) pooled to 16x16, N x 256."""
  rows = []
  for c in clips:
    grey = c.frames.astype(np.float32).mean(-1)
    x = grey[c.apex] - grey[c.onset] if kind == "diff" else grey[c.apex]
    m = int(0.2 * x.shape[0])
    rows.append(cv2.resize(x[m:-m, m:-m], (16, 16), interpolation=cv2.INTER_AREA).ravel())
  return np.stack(rows)


def _loso_ridge_accuracy(x_NxD, y_N, subject_N, num_classes, lam=1.0):
  """Leave-one-subject-out accuracy of standardised ridge regression on
  one-hot targets (solved in its kernel form)."""
  correct = 0
  for s in np.unique(subject_N):
    train = subject_N != s
    mean, std = x_NxD[train].mean(0), x_NxD[train].std(0) + 1e-6
    a = (x_NxD[train] - mean) / std
    b = (x_NxD[~train] - mean) / std
    alpha = np.linalg.solve(a @ a.T + lam * len(a) * np.eye(len(a)),
                            np.eye(num_classes)[y_N[train]])
    correct += ((b @ a.T @ alpha).argmax(1) == y_N[~train]).sum()
  return correct / len(y_N)


@pytest.mark.parametrize("seed", [0, 1])
def test_onset_apex_difference_beats_apex_frame(seed):
  config = syn.SyntheticConfig(num_subjects=10, clips_per_subject=12, size=64,
                               min_frames=12, max_frames=16, seed=seed)
  clips = syn.make_synthetic(config)
  y_N = np.array([syn.CLASS_NAMES.index(c.label) for c in clips])
  subject_N = np.array([c.subject for c in clips])
  acc = {kind: _loso_ridge_accuracy(_features(clips, kind), y_N, subject_N, 5)
         for kind in ("apex", "diff")}
  assert acc["diff"] > 0.6, acc          # chance is 0.2
  assert acc["diff"] - acc["apex"] > 0.15, acc

"""The baselines' SVM scores and the staged-frame -> grey-level conversion."""

import numpy as np

from merjax.baselines import run as baseline_run
from merjax.baselines import svm


def test_binary_and_missing_classes():
  """Separable 1-D data of classes 0 and 2 in a 3-class run: the test rows are classified
  by side, and class 1 (absent from training) scores below both in every row."""
  x_train = np.array([[-3.0], [-2.0], [-1.0], [1.0], [2.0], [3.0]])
  y_train = np.array([0, 0, 0, 2, 2, 2])
  scores = svm.fit_scores(x_train, y_train, np.array([[-2.5], [2.5]]), 3, C=10.0)
  np.testing.assert_array_equal(scores.argmax(1), [0, 2])
  assert (scores[:, 1] < scores[:, [0, 2]].min(1)).all()
  assert scores[0, 0] == -scores[0, 2]          # binary: (-d, d)
  one = svm.fit_scores(x_train[:3], y_train[:3], np.zeros((2, 1)), 3)
  np.testing.assert_array_equal(one.argmax(1), [0, 0])


def test_standardize_uses_training_rows():
  train, test = np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([[2.0, 7.0]])
  a, b = svm.standardize(train, test)
  np.testing.assert_allclose(a, [[-1, 0], [1, 0]])
  np.testing.assert_allclose(b, [[0, 2]])          # constant column: std 1


def test_grey_levels_round_trip():
  """Staged frames are uint8 / 255 x input_scale; grey_u8 returns the uint8 levels."""
  u8 = np.arange(256, dtype=np.uint8).reshape(1, 4, 8, 8, 1)
  for scale in (1.0, 255.0):
    staged = (u8.astype(np.float32) / 255.0 * np.float32(scale)).astype(np.float32)
    np.testing.assert_array_equal(baseline_run.grey_u8(staged, scale), u8[..., 0])


def test_flow_cache_keyed_by_frames(tmp_path, monkeypatch):
  """MDMO's sequence flows are computed once per (frames, pairing, parameters)."""
  calls = []

  def fake_flows(frames, flow, params, log=None):
    calls.append(flow)
    return np.full(frames.shape[:2] + frames.shape[2:] + (2,), len(calls), np.float32)

  monkeypatch.setattr(baseline_run.mdmo, "sequence_flows", fake_flows)
  frames = np.zeros((2, 3, 4, 4), np.uint8)
  first = baseline_run._cached_flows(frames, "onset", {}, str(tmp_path), print)
  again = baseline_run._cached_flows(frames, "onset", {}, str(tmp_path), print)
  np.testing.assert_array_equal(first, again)
  assert calls == ["onset"]
  baseline_run._cached_flows(frames + 1, "onset", {}, str(tmp_path), print)
  baseline_run._cached_flows(frames, "consecutive", {}, str(tmp_path), print)
  baseline_run._cached_flows(frames, "onset", {"warps": 3}, str(tmp_path), print)
  assert len(calls) == 4

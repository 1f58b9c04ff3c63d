import numpy as np
import pytest

from merjax.data import protocols
from merjax.data.records import Clip
from merjax.errors import MerjaxError


def _clip(subject, label, dataset="d"):
  return Clip(dataset, subject, f"{subject}_{label}", label,
              np.zeros((3, 4, 4, 1), np.uint8), 0, 1, 2)


def test_label_protocol_codes_follow_class_order_and_report_drops():
  p = protocols.LabelProtocol("p", ("pos", "neg"), {"Happy": "pos", "sad": "neg"})
  clips = [_clip("a", "happy"), _clip("a", "SAD"), _clip("b", "fear")]
  kept, y, dropped = p.apply(clips)
  assert [c.label for c in kept] == ["happy", "SAD"]
  assert y.tolist() == [0, 1]
  assert dropped == {"fear": 1}


def test_loso_sorted_and_skips_emptied_subjects():
  subject_N = ["s2", "s1", "s2", "s3"]
  folds = protocols.loso_folds(subject_N, all_subjects=["s1", "s2", "s3", "s4"])
  assert folds.names == ("s1", "s2", "s3")
  assert folds.skipped == ("s4",)
  np.testing.assert_array_equal(folds.test_FxN[1], [True, False, True, False])
  np.testing.assert_array_equal(folds.train_FxN, ~folds.test_FxN)


def test_split_is_stratified_and_deterministic():
  y = np.repeat([0, 1, 2], [20, 10, 5])
  a = protocols.split_folds(y, 0.1, seed=3)
  b = protocols.split_folds(y, 0.1, seed=3)
  np.testing.assert_array_equal(a.test_FxN, b.test_FxN)
  test = a.test_FxN[0]
  assert [int(test[y == c].sum()) for c in range(3)] == [2, 1, 1]
  assert not (a.train_FxN & a.test_FxN).any()


def test_cross_dataset_and_errors():
  ds = np.array(["casme2", "samm", "casme2"])
  f = protocols.cross_dataset_folds(ds, "casme2", "samm")
  assert f.train_FxN.tolist() == [[True, False, True]]
  assert f.test_FxN.tolist() == [[False, True, False]]
  with pytest.raises(MerjaxError, match="mmew"):
    protocols.cross_dataset_folds(ds, "casme2", "mmew")


def test_clip_rejects_apex_outside_onset_offset():
  with pytest.raises(MerjaxError, match="apex 5 outside onset..offset 1..3"):
    Clip("d", "s", "c", "x", np.zeros((8, 2, 2, 1), np.uint8), 1, 5, 3, source="f.xlsx row 7")


def test_fold_seed_depends_only_on_seed_and_name():
  assert protocols.fold_seed(0, "s01") == protocols.fold_seed(0, "s01")
  assert protocols.fold_seed(0, "s01") != protocols.fold_seed(1, "s01")
  assert protocols.fold_seed(0, "s01") != protocols.fold_seed(0, "s02")

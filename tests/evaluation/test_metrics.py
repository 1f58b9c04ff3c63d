"""Hand-computed checks of merjax.evaluation.metrics."""

import json

import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.evaluation import metrics as M


def test_confusion_rows_true_cols_pred():
  cm = M.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 0], 3)
  assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_three_class_by_hand():
  # true 0 0 0 0 1 1 2 2 / pred 0 0 0 1 1 2 2 0
  # confusion rows: c0 [3 1 0], c1 [0 1 1], c2 [1 0 1]
  # TP [3 1 1], FP [1 1 1], FN [1 1 1], support [4 2 2]
  # recall = precision = [3/4, 1/2, 1/2]; F1 = 2TP/(2TP+FP+FN) = [6/8, 2/4, 2/4]
  m = M.classification_metrics([0, 0, 0, 0, 1, 1, 2, 2],
                               [0, 0, 0, 1, 1, 2, 2, 0], 3)
  assert m["confusion"] == [[3, 1, 0], [0, 1, 1], [1, 0, 1]]
  assert m["acc"] == pytest.approx(5 / 8)
  assert m["war"] == m["acc"]
  assert m["uar"] == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
  assert m["uf1"] == pytest.approx((0.75 + 0.5 + 0.5) / 3)
  assert m["macro_precision"] == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
  assert [c["support"] for c in m["per_class"]] == [4, 2, 2]
  assert m["per_class"][0]["f1"] == pytest.approx(0.75)


def test_macro_precision_is_not_uar():
  # A published baseline reported macro-precision as "UAR"; they differ:
  # true 0 0 0 0 1 1 / pred 0 0 0 0 0 1 -> c0 [4 0], c1 [1 1]
  # recall [4/4, 1/2] -> UAR 0.75; precision [4/5, 1/1] -> macro-P 0.9
  # F1 c0 = 8/(8+1+0) = 8/9, c1 = 2/(2+0+1) = 2/3 -> UF1 = 7/9
  m = M.classification_metrics([0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1], 2)
  assert m["uar"] == pytest.approx(0.75)
  assert m["macro_precision"] == pytest.approx(0.9)
  assert m["uf1"] == pytest.approx(7 / 9)
  assert m["acc"] == pytest.approx(5 / 6)


def test_class_never_predicted_counts_as_zero():
  # true 0 0 1 1 2 / pred 0 0 1 0 0; class 2 is never predicted.
  # c0 [2 0 0], c1 [1 1 0], c2 [1 0 0]; TP [2 1 0], predicted [4 1 0]
  # recall [1, 1/2, 0] -> UAR 1/2; precision [1/2, 1, 0] -> macro-P 1/2
  # F1 [4/6, 2/3, 0/1] -> UF1 4/9
  m = M.classification_metrics([0, 0, 1, 1, 2], [0, 0, 1, 0, 0], 3)
  assert m["uar"] == pytest.approx(0.5)
  assert m["macro_precision"] == pytest.approx(0.5)
  assert m["uf1"] == pytest.approx(4 / 9)
  assert m["acc"] == pytest.approx(3 / 5)
  assert m["per_class"][2] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                               "support": 1, "predicted": 0}


def test_predicted_class_absent_from_labels():
  # true 0 0 1 / pred 0 2 1 (K=3); class 2 predicted once, never true.
  # c0 [1 0 1], c1 [0 1 0], c2 [0 0 0]; TP [1 1 0], FP [0 0 1], FN [1 0 0]
  # recall over classes in labels {0,1}: [1/2, 1] -> UAR 3/4
  # precision over {0,1,2}: [1, 1, 0] -> 2/3; F1 [2/3, 1, 0] -> UF1 5/9
  m = M.classification_metrics([0, 0, 1], [0, 2, 1], 3)
  assert m["uar"] == pytest.approx(0.75)
  assert m["macro_precision"] == pytest.approx(2 / 3)
  assert m["uf1"] == pytest.approx(5 / 9)
  assert m["per_class"][2] == {"precision": 0.0, "recall": None, "f1": 0.0,
                               "support": 0, "predicted": 1}


def test_class_absent_from_both_is_excluded():
  # true 0 1 1 / pred 0 1 0 with K=3: class 2 never appears, so the numbers
  # equal K=2: recall [1, 1/2] -> 3/4; precision [1/2, 1] -> 3/4;
  # F1 [2/3, 2/3] -> 2/3.
  m3 = M.classification_metrics([0, 1, 1], [0, 1, 0], 3)
  m2 = M.classification_metrics([0, 1, 1], [0, 1, 0], 2)
  for k in M.SCALAR_KEYS:
    assert m3[k] == pytest.approx(m2[k])
  assert m3["uar"] == pytest.approx(0.75)
  assert m3["macro_precision"] == pytest.approx(0.75)
  assert m3["uf1"] == pytest.approx(2 / 3)
  assert m3["per_class"][2] == {"precision": None, "recall": None,
                                "f1": None, "support": 0, "predicted": 0}


def _reference(y_true, y_pred, k):
  """Independent one-vs-rest loop (sklearn-like, same class-set rules)."""
  f1s, recalls, precs = [], [], []
  for c in range(k):
    tp = sum(t == c and p == c for t, p in zip(y_true, y_pred))
    fp = sum(t != c and p == c for t, p in zip(y_true, y_pred))
    fn = sum(t == c and p != c for t, p in zip(y_true, y_pred))
    if tp + fn:
      recalls.append(tp / (tp + fn))
    if tp + fp + fn:
      f1s.append(2 * tp / (2 * tp + fp + fn))
      precs.append(tp / (tp + fp) if tp + fp else 0.0)
  acc = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)
  return {"acc": acc, "uf1": np.mean(f1s), "uar": np.mean(recalls),
          "macro_precision": np.mean(precs)}


def test_matches_independent_loop_on_random_data():
  rng = np.random.default_rng(0)
  for _ in range(20):
    k = int(rng.integers(2, 6))
    n = int(rng.integers(1, 30))
    y_true = rng.integers(0, k, n)
    y_pred = rng.integers(0, k, n)
    m = M.classification_metrics(y_true, y_pred, k)
    ref = _reference(list(y_true), list(y_pred), k)
    for key, v in ref.items():
      assert m[key] == pytest.approx(v)
    # WAR = sum_k support_k * recall_k / N
    war = sum(c["support"] * c["recall"] for c in m["per_class"]
              if c["recall"] is not None) / n
    assert m["war"] == pytest.approx(war)


def test_json_serialisable_python_types():
  m = M.classification_metrics(np.array([0, 1]), np.array([0, 0]), 3)
  json.dumps(m, allow_nan=False)
  assert type(m["acc"]) is float
  assert type(m["per_class"][0]["support"]) is int


@pytest.mark.parametrize("y_true,y_pred,k", [
    ([0, 1], [0], 2),            # length mismatch
    ([0, 3], [0, 1], 3),         # label out of range
    ([0, 1], [0, -1], 2),        # negative prediction
    ([0.0, 1.0], [0, 1], 2),     # float labels
    ([], [], 2),                 # nothing to score
])
def test_bad_input_raises(y_true, y_pred, k):
  with pytest.raises(MerjaxError):
    M.classification_metrics(y_true, y_pred, k)


def test_weighted_f1_by_hand():
  """wf1 = sum_k support_k * F1_k / N: the three-class case above, (4*.75 + 2*.5 + 2*.5) / 8,
  and a class never predicted counting its support with F1 0 (scikit-learn's zero_division=0)."""
  m = M.classification_metrics([0, 0, 0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2, 2, 0], 3)
  assert m["wf1"] == pytest.approx((4 * 0.75 + 2 * 0.5 + 2 * 0.5) / 8)
  # true 0 0 1 1 1 / pred 0 0 0 0 0: F1 [2*2/(4+3), 0]; weights [2, 3]
  m = M.classification_metrics([0, 0, 1, 1, 1], [0, 0, 0, 0, 0], 2)
  assert m["wf1"] == pytest.approx(2 * (4 / 7) / 5)
  # A class predicted but absent from the labels weighs nothing.
  m = M.classification_metrics([0, 0], [0, 1], 2)
  assert m["wf1"] == pytest.approx(2 * (2 / 3) / 2)

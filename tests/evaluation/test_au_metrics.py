"""Per-AU F1 and their mean, pooled and fold-mean, from hand-counted cases and a
predictions.csv written by the run directory's writer."""

import numpy as np
import pytest

from merjax import rundir
from merjax.errors import MerjaxError
from merjax.evaluation import au_metrics

NAMES = ["AU1", "AU4", "AU12"]
# 6 samples in 2 folds. AU1: fold a TP, FN; fold b TP, FP -> pooled 2TP 1FP 1FN.
# AU4: never true, predicted once in fold b. AU12: neither true nor predicted anywhere.
TRUE = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0],
                 [1, 0, 0], [0, 0, 0], [0, 0, 0]])
PRED = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0],
                 [1, 0, 0], [1, 1, 0], [0, 0, 0]])
FOLD = ["a", "a", "a", "b", "b", "b"]


def test_pooled_f1_counts_over_all_folds():
  m = au_metrics.au_f1(TRUE, PRED, NAMES)
  assert m["per_au"]["AU1"]["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
  assert m["per_au"]["AU4"]["f1"] == 0.0                   # predicted, never true
  assert m["per_au"]["AU12"]["f1"] is None                  # absent from both: no mean
  assert m["mean_f1"] == pytest.approx((2 / 3 + 0.0) / 2)
  assert m["per_au"]["AU1"]["precision"] == pytest.approx(2 / 3)
  assert m["per_au"]["AU1"]["support"] == 3 and m["per_au"]["AU4"]["predicted"] == 1


def test_fold_mean_averages_where_defined():
  s = au_metrics.summarize(TRUE, PRED, NAMES, FOLD)
  # fold a: AU1 F1 = 2/(2+0+1) = 2/3, AU4 undefined -> mean 2/3.
  # fold b: AU1 F1 = 2/(2+1+0) = 2/3, AU4 F1 = 0 -> mean 1/3.
  assert s["per_fold"]["a"]["mean_f1"] == pytest.approx(2 / 3)
  assert s["per_fold"]["b"]["mean_f1"] == pytest.approx(1 / 3)
  assert s["fold_mean"]["mean_f1"] == pytest.approx(0.5)
  assert s["fold_mean"]["f1_AU4"] == 0.0 and s["fold_mean"]["f1_AU12"] is None
  assert s["pooled"]["mean_f1"] == pytest.approx(1 / 3)


def test_per_dataset_and_seeds():
  dataset = ["x", "x", "y", "x", "y", "y"]
  s = au_metrics.summarize(np.tile(TRUE, (2, 1)), np.vstack([PRED, TRUE]), NAMES,
                           FOLD * 2, dataset * 2, ["0"] * 6 + ["1"] * 6)
  seed0 = au_metrics.summarize(TRUE, PRED, NAMES, FOLD, dataset)["pooled"]["mean_f1"]
  # seed 1 predicts every label: AU1 F1 = 1, AU4 and AU12 undefined -> mean 1.
  assert s["seeds"]["1"]["pooled"]["mean_f1"] == 1.0
  assert s["pooled"]["mean_f1"] == pytest.approx((seed0 + 1.0) / 2)
  assert s["pooled_std"]["mean_f1"] == pytest.approx(np.std([seed0, 1.0], ddof=1))
  # dataset y, seed 0: AU1 FP once (row 5), AU4 FP once -> both F1 0.
  assert s["seeds"]["0"]["per_dataset"]["y"]["pooled"]["mean_f1"] == 0.0
  assert set(s["per_dataset"]) == {"x", "y"}


def test_predictions_csv_round_trip(tmp_path):
  path = str(tmp_path / "predictions.csv")
  writer = rundir.PredictionWriter(path, NAMES, multilabel=True)
  logits = np.where(PRED > 0, 2.5, -1.5)
  writer.write(("d", f"s{i // 3}", f"c{i}", FOLD[i], 0, TRUE[i], logits[i]) for i in range(6))
  lines = open(path).read().splitlines()
  assert lines[0].endswith("logit_AU12,true_AU1,true_AU4,true_AU12")
  assert lines[1].split(",")[5:7] == ["AU1", "AU1"]
  assert lines[2].split(",")[5:7] == ["AU1", "none"]
  p = au_metrics.read_predictions(path)
  assert au_metrics.is_au_file(path) and p.names == NAMES
  np.testing.assert_array_equal(p.true_NxA, TRUE)
  np.testing.assert_array_equal(p.pred_NxA, PRED.astype(bool))
  s = au_metrics.summarize_predictions(p)
  assert s["fold_mean"]["mean_f1"] == pytest.approx(0.5)
  table = au_metrics.format_markdown(s)
  assert "| pooled | all | 6 | 0.3333 | 0.6667 | 0.0000 | n/a |" in table
  assert "| fold-mean | d | 6 | 0.5000 |" in table
  assert "| pooled [ORACLE] | all |" in au_metrics.format_markdown({**s, "oracle": True})


def test_bad_true_cell_names_the_line(tmp_path):
  path = tmp_path / "p.csv"
  path.write_text("dataset,subject,clip,fold,seed,label,pred,logit_AU1,true_AU1\n"
                  "d,s,c,f,0,AU1,AU1,1.0,2\n")
  with pytest.raises(MerjaxError, match="line 2: a true_ cell is not 0 or 1"):
    au_metrics.read_predictions(str(path))

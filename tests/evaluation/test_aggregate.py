"""Hand-computed checks of pooled / fold-mean / per-dataset / seed summaries."""

import json
import math

import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, metrics, tables

# Two folds, two classes.
#   fold A: true 0 0 1 / pred 0 0 0 -> c0 [2 0], c1 [1 0]
#     acc 2/3; recall [1, 0] -> UAR 1/2; F1 c0 4/(4+1+0)=0.8, c1 0 -> UF1 0.4
#     precision [2/3, 0] -> macro-P 1/3
#   fold B: true 1 1 0 / pred 1 1 1 -> c0 [0 1], c1 [0 2]
#     acc 2/3; recall [0, 1] -> UAR 1/2; F1 [0, 0.8] -> UF1 0.4; macro-P 1/3
#   fold-mean: acc 2/3, UAR 1/2, UF1 0.4, macro-P 1/3
#   pooled: c0 [2 1], c1 [1 2]; TP [2 2], FP [1 1], FN [1 1]
#     acc 4/6, recall [2/3, 2/3] -> UAR 2/3, F1 4/6 each -> UF1 2/3, macro-P 2/3
LABEL = [0, 0, 1, 1, 1, 0]
PRED = [0, 0, 0, 1, 1, 1]
FOLD = ["A", "A", "A", "B", "B", "B"]


def test_pooled_differs_from_fold_mean():
  s = aggregate.summarize(LABEL, PRED, 2, FOLD)
  assert s["num_predictions"] == 6 and s["num_folds"] == 2
  p, f = s["pooled"], s["fold_mean"]
  assert p["uf1"] == pytest.approx(2 / 3) and f["uf1"] == pytest.approx(0.4)
  assert p["uar"] == pytest.approx(2 / 3) and f["uar"] == pytest.approx(0.5)
  assert p["acc"] == pytest.approx(2 / 3) and f["acc"] == pytest.approx(2 / 3)
  assert p["war"] == p["acc"] and f["war"] == f["acc"]
  assert p["macro_precision"] == pytest.approx(2 / 3)
  assert f["macro_precision"] == pytest.approx(1 / 3)
  assert p["confusion"] == [[2, 1], [1, 2]]
  assert s["per_fold"]["A"]["uf1"] == pytest.approx(0.4)
  assert s["per_fold"]["B"]["num_predictions"] == 3


def test_pooled_equals_confusions_summed_over_folds():
  s = aggregate.summarize(LABEL, PRED, 2, FOLD)
  l, p = np.array(LABEL), np.array(PRED)
  summed = (metrics.confusion_matrix(l[:3], p[:3], 2)
            + metrics.confusion_matrix(l[3:], p[3:], 2))
  assert s["pooled"]["confusion"] == summed.tolist()


def test_class_absent_from_a_fold():
  # fold C: true 0 0 / pred 0 1 -> class 1 predicted but absent from labels
  #   acc 1/2; UAR = recall c0 = 1/2; F1 c0 2/(2+0+1)=2/3, c1 0 -> UF1 1/3
  #   precision [1, 0] -> 1/2
  # fold D: true 0 / pred 0 -> class 1 absent from both, excluded
  #   acc 1, UAR 1, UF1 1, macro-P 1
  # fold-mean: acc 3/4, UAR 3/4, UF1 2/3, macro-P 3/4
  # pooled: true 0 0 0 / pred 0 1 0 -> c0 [2 1], c1 [0 0]
  #   acc 2/3; UAR 2/3; F1 c0 4/5, c1 0 -> UF1 0.4; precision [1, 0] -> 1/2
  s = aggregate.summarize([0, 0, 0], [0, 1, 0], 2, ["C", "C", "D"])
  f, p = s["fold_mean"], s["pooled"]
  assert f["acc"] == pytest.approx(0.75)
  assert f["uar"] == pytest.approx(0.75)
  assert f["uf1"] == pytest.approx(2 / 3)
  assert f["macro_precision"] == pytest.approx(0.75)
  assert p["acc"] == pytest.approx(2 / 3)
  assert p["uar"] == pytest.approx(2 / 3)
  assert p["uf1"] == pytest.approx(0.4)
  assert p["macro_precision"] == pytest.approx(0.5)


# Two datasets sharing fold f2:
#   X f1 0->0, X f1 1->0, X f2 1->1, Y f2 0->1, Y f3 0->0, Y f3 1->1
DS = ["X", "X", "X", "Y", "Y", "Y"]
DS_FOLD = ["f1", "f1", "f2", "f2", "f3", "f3"]
DS_LABEL = [0, 1, 1, 0, 0, 1]
DS_PRED = [0, 0, 1, 1, 0, 1]


def test_per_dataset_restriction():
  s = aggregate.summarize(DS_LABEL, DS_PRED, 2, DS_FOLD, dataset_N=DS)
  # all: c0 [2 1], c1 [1 2] -> acc, UAR, UF1 all 2/3
  assert s["pooled"]["uf1"] == pytest.approx(2 / 3)
  x, y = s["per_dataset"]["X"], s["per_dataset"]["Y"]
  assert (x["num_predictions"], x["num_folds"]) == (3, 2)
  assert (y["num_predictions"], y["num_folds"]) == (3, 2)
  # X pooled: true 0 1 1 / pred 0 0 1 -> c0 [1 0], c1 [1 1]
  #   acc 2/3; recall [1, 1/2] -> 3/4; F1 [2/3, 2/3]; precision [1/2, 1] -> 3/4
  assert x["pooled"]["acc"] == pytest.approx(2 / 3)
  assert x["pooled"]["uar"] == pytest.approx(0.75)
  assert x["pooled"]["uf1"] == pytest.approx(2 / 3)
  assert x["pooled"]["macro_precision"] == pytest.approx(0.75)
  # X folds: f1 true 0 1 / pred 0 0 -> acc 1/2, UAR 1/2, UF1 (2/3 + 0)/2
  #          f2 true 1 / pred 1 -> 1, 1, 1 (class 0 absent from both)
  assert x["fold_mean"]["acc"] == pytest.approx(0.75)
  assert x["fold_mean"]["uar"] == pytest.approx(0.75)
  assert x["fold_mean"]["uf1"] == pytest.approx(2 / 3)
  # Y pooled: true 0 0 1 / pred 1 0 1 -> c0 [1 1], c1 [0 1]
  #   acc 2/3; recall [1/2, 1] -> 3/4; F1 [2/3, 2/3] -> 2/3
  assert y["pooled"]["uar"] == pytest.approx(0.75)
  assert y["pooled"]["uf1"] == pytest.approx(2 / 3)
  # Y folds: f2 holds only Y's row (true 0 / pred 1) -> acc 0, UAR 0, UF1 0
  #          f3 true 0 1 / pred 0 1 -> 1, 1, 1. X's f2 row must not leak in.
  assert y["fold_mean"]["acc"] == pytest.approx(0.5)
  assert y["fold_mean"]["uar"] == pytest.approx(0.5)
  assert y["fold_mean"]["uf1"] == pytest.approx(0.5)


def test_several_seeds_mean_and_std():
  # seed 0: the two-fold example (pooled acc 2/3, UF1 2/3; fold-mean UF1 0.4)
  # seed 1: the same rows all predicted correctly (everything 1)
  # pooled acc: mean (2/3 + 1)/2 = 5/6, sample std |1 - 2/3|/sqrt(2)
  # fold-mean UF1: mean (0.4 + 1)/2 = 0.7, std 0.6/sqrt(2)
  label = LABEL + LABEL
  pred = PRED + LABEL
  fold = FOLD + FOLD
  seed = [0] * 6 + [1] * 6
  s = aggregate.summarize(label, pred, 2, fold, seed_N=seed,
                          dataset_N=["X"] * 12)
  assert s["num_seeds"] == 2 and s["std_ddof"] == 1
  assert s["num_predictions"] == 12 and s["num_folds"] == 2
  assert s["pooled"]["acc"] == pytest.approx(5 / 6)
  assert s["pooled_std"]["acc"] == pytest.approx((1 / 3) / math.sqrt(2))
  assert s["fold_mean"]["uf1"] == pytest.approx(0.7)
  assert s["fold_mean_std"]["uf1"] == pytest.approx(0.6 / math.sqrt(2))
  assert set(s["seeds"]) == {"0", "1"}
  assert s["seeds"]["0"]["pooled"]["uf1"] == pytest.approx(2 / 3)
  assert s["seeds"]["1"]["fold_mean"]["uf1"] == pytest.approx(1.0)
  assert s["per_dataset"]["X"]["pooled"]["acc"] == pytest.approx(5 / 6)
  assert s["per_dataset"]["X"]["fold_mean_std"]["uf1"] == pytest.approx(
      0.6 / math.sqrt(2))
  json.dumps(s, allow_nan=False)


def test_single_seed_column_gives_plain_summary():
  s = aggregate.summarize(LABEL, PRED, 2, FOLD, seed_N=[7] * 6)
  assert s["seed"] == "7" and "seeds" not in s
  assert "per_class" in s["pooled"]


def test_json_roundtrip_python_types():
  s = aggregate.summarize(DS_LABEL, DS_PRED, 2, DS_FOLD, dataset_N=DS,
                          class_names=["neg", "pos"])
  assert json.loads(json.dumps(s, allow_nan=False)) == s
  assert type(s["fold_mean"]["uf1"]) is float
  assert type(s["num_folds"]) is int


def test_length_mismatch_raises():
  with pytest.raises(MerjaxError):
    aggregate.summarize(LABEL, PRED, 2, FOLD[:-1])


def test_tables_label_aggregations_and_seeds():
  one = aggregate.summarize(DS_LABEL, DS_PRED, 2, DS_FOLD, dataset_N=DS)
  md = tables.format_markdown(one)
  assert "| pooled | all | 6 | 0.6667 | 0.6667 | 0.6667 | 0.6667 |" in md
  assert "| fold-mean | Y | 3 | 0.5000 | 0.5000 | 0.5000 | 0.5000 |" in md
  assert "MEGC2019" in md and "not macro-precision" in md
  rows = tables.format_csv(one).splitlines()
  assert rows[0] == "aggregation,dataset,n,Acc,UF1,UAR,WAR"
  assert len(rows) == 1 + 2 * 3
  many = aggregate.summarize(LABEL + LABEL, PRED + LABEL, 2, FOLD + FOLD,
                             seed_N=[0] * 6 + [1] * 6)
  md = tables.format_markdown(many)
  assert "0.8333 ± 0.2357" in md and "over 2 seeds" in md
  split = tables.format_csv(many, split_std=True).splitlines()
  assert split[0].startswith("aggregation,dataset,n,Acc,Acc std,UF1")
  assert split[1].startswith("pooled,all,12,0.8333,0.2357,")
  assert "Pooled per class" in tables.format_report(one)

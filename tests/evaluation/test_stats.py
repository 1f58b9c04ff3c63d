"""Seed statistics, subject bootstrap and paired tests (merjax.evaluation.stats)."""

import numpy as np
import pytest
import scipy.stats

from merjax.errors import MerjaxError
from merjax.evaluation import metrics as metrics_lib
from merjax.evaluation import stats

# Differences covering every branch of scipy's method="auto":
# exact (no ties/zeros, n <= 50), sign-flip permutation (ties or zeros, n <= 13),
# normal approximation (ties/zeros with n > 13, or n > 50).
WILCOXON_CASES = {
    "exact_n6": [0.3, -0.1, 0.7, 0.25, -0.05, 0.9],
    "exact_n20": list(np.linspace(-0.3, 1.6, 20) * np.resize([1, -1.01, 1.02], 20)),
    "permutation_zeros": [0.0, 0.5, 0.25, 0.0, -0.25, 0.5, 1.0],
    "permutation_ties_n10": [1/3, -1/3, 2/3, 1/3, 0.5, 0.5, -0.5, 1/3, 0.25, 0.1],
    "normal_ties_n20": [0.0, 0.5, -0.5, 0.25, 0.25, 0.5, 1.0, 0.0, 0.75, -0.25,
                        0.5, 0.25, 0.0, 0.5, -0.25, 1.0, 0.25, 0.5, 0.75, 0.25],
    "normal_n60": list(np.sin(np.arange(1, 61)) + 0.2),
    "all_zero_small": [0.0, 0.0, 0.0],
    "single": [0.4],
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(WILCOXON_CASES))
def test_wilcoxon_matches_scipy_defaults(name):
  d = np.asarray(WILCOXON_CASES[name])
  ours = stats.wilcoxon(d)
  ref = scipy.stats.wilcoxon(d)
  assert ours.statistic == pytest.approx(float(ref.statistic), abs=1e-12)
  assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-15)
  expected = name.split("_")[0]
  if expected in ("exact", "permutation", "normal"):
    assert ours.method == expected


def test_wilcoxon_method_boundaries():
  ties = [0.5, 0.5] + [0.1 * k for k in range(1, 12)]
  assert stats.wilcoxon(ties).method == "permutation"           # n = 13
  assert stats.wilcoxon(ties + [2.0]).method == "normal"        # n = 14
  assert stats.wilcoxon(np.arange(1, 51) * 1.0).method == "exact"
  assert stats.wilcoxon(np.arange(1, 52) * 1.0).method == "normal"


def test_wilcoxon_two_samples_and_all_zero_large():
  x = np.arange(20) / 20
  assert stats.wilcoxon(x, x + 0.1 * (np.arange(20) % 3)).pvalue == pytest.approx(
      scipy.stats.wilcoxon(x, x + 0.1 * (np.arange(20) % 3)).pvalue, rel=1e-12)
  # all differences zero, n > 13: normal approximation with zero variance -> NaN (as scipy)
  assert np.isnan(stats.wilcoxon(np.zeros(20)).pvalue)


def test_paired_ttest_matches_scipy():
  rng = np.random.default_rng(0)
  for n in (2, 3, 7, 26, 68):
    a = rng.uniform(size=n)
    b = a + rng.normal(0.05, 0.2, size=n)
    ours, ref = stats.paired_ttest(a, b), scipy.stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
  for t, df in ((0.2, 1), (12.0, 2), (2.0, 30), (40.0, 67)):
    assert stats.t_two_sided_p(t, df) == pytest.approx(
        2 * scipy.stats.t.sf(t, df), rel=1e-10)
  assert stats.paired_ttest([1, 2, 3], [0, 1, 2]).pvalue == 0.0
  assert np.isnan(stats.paired_ttest([1, 2], [1, 2]).pvalue)
  with pytest.raises(MerjaxError):
    stats.paired_ttest([1, 2], [1, 2, 3])


def test_batch_metrics_match_classification_metrics():
  rng = np.random.default_rng(1)
  cms = [rng.integers(0, 4, size=(4, 4)) for _ in range(20)]
  cms[0][2] = 0            # class 2 absent from the labels
  cms[1][:, 3] = 0         # class 3 never predicted
  cms[2][3] = 0
  cms[2][:, 3] = 0         # class 3 absent from both
  got = stats.batch_metrics(np.stack(cms))
  for i, cm in enumerate(cms):
    ref = metrics_lib.metrics_from_confusion(cm)
    for key in ("acc", "uf1", "uar"):
      assert got[key][i] == pytest.approx(ref[key], rel=1e-12)


def _write_run(tmp_path, rows, name="run"):
  """rows: (subject, clip, label, pred[, seed]) -> run directory with predictions.csv."""
  d = tmp_path / name
  d.mkdir()
  lines = ["dataset,subject,clip,fold,seed,label,pred"]
  for r in rows:
    subject, clip, label, pred = r[:4]
    seed = r[4] if len(r) > 4 else 0
    lines.append(f"ds,{subject},{clip},ds/{subject},{seed},{label},{pred}")
  (d / "predictions.csv").write_text("\n".join(lines) + "\n")
  return str(d)


def test_subject_bootstrap_moves_whole_subjects(tmp_path):
  # sA: 1 clip, correct; sB: 4 clips, all wrong. Resampling subjects gives
  # {sA, sA} -> acc 1, {sA, sB} -> 1/5, {sB, sB} -> 0; resampling clips would
  # give every k/5.
  rows = [("sA", "a1", "x", "x")] + [("sB", f"b{i}", "y", "x") for i in range(4)]
  run = stats.load_run(_write_run(tmp_path, rows))
  boot = stats.bootstrap_replicates(run, n_boot=500, seed=3)
  assert set(np.round(boot["acc"], 12)) == {0.0, 0.2, 1.0}
  # UAR of {sA, sB}: recall x = 1, recall y = 0 -> 0.5; UF1: F1 x = 2/6, F1 y = 0
  assert set(np.round(boot["uar"], 12)) <= {0.0, 0.5, 1.0}
  assert set(np.round(boot["uf1"], 12)) <= {0.0, round(1 / 6, 12), 1.0}


def test_subject_bootstrap_deterministic_and_contains_estimate(tmp_path):
  rng = np.random.default_rng(0)
  rows = []
  for j in range(8):
    for i in range(6):
      label = "abc"[rng.integers(3)]
      pred = label if rng.uniform() < 0.3 + 0.08 * j else "abc"[rng.integers(3)]
      rows.append((f"s{j}", f"s{j}_{i}", label, pred))
  run = stats.load_run(_write_run(tmp_path, rows))
  one = stats.subject_bootstrap(run, n_boot=400, seed=7)
  assert one == stats.subject_bootstrap(run, n_boot=400, seed=7)
  assert one != stats.subject_bootstrap(run, n_boot=400, seed=8)
  pooled = metrics_lib.classification_metrics(
      np.asarray(run.label_N), np.asarray(run.pred_N), 3)
  for m in ("uf1", "uar", "acc"):
    assert one[m]["estimate"] == pytest.approx(pooled[m])
    assert one[m]["ci_low"] <= one[m]["estimate"] <= one[m]["ci_high"]
    assert one[m]["ci_low"] < one[m]["ci_high"]


def test_seed_summary():
  s = stats.seed_summary([0.5, 0.6, 0.7, 0.8], n_boot=300, seed=1)
  assert s["mean"] == pytest.approx(0.65)
  assert s["std"] == pytest.approx(np.std([0.5, 0.6, 0.7, 0.8], ddof=1))
  assert 0.5 <= s["ci_low"] <= 0.65 <= s["ci_high"] <= 0.8
  assert s == stats.seed_summary([0.5, 0.6, 0.7, 0.8], n_boot=300, seed=1)
  single = stats.seed_summary([0.4])
  assert single["mean"] == 0.4 and single["std"] is None and single["ci_low"] is None
  with pytest.raises(MerjaxError):
    stats.seed_summary([])


def test_multi_seed_pooled_is_mean_over_seeds(tmp_path):
  rows = [("s1", "c1", "x", "x", 0), ("s1", "c2", "y", "x", 0),
          ("s2", "c3", "y", "y", 0),
          ("s1", "c1", "x", "x", 1), ("s1", "c2", "y", "y", 1),
          ("s2", "c3", "y", "y", 1)]
  run = stats.load_run(_write_run(tmp_path, rows))
  # seed 0: acc 2/3; seed 1: acc 1 -> mean 5/6
  assert stats.pooled_metrics(run)["acc"] == pytest.approx(5 / 6)
  assert stats.seed_pooled_values(run, "acc") == pytest.approx({"0": 2 / 3, "1": 1.0})
  per = stats.per_subject_metrics(run)
  assert per["ds/s1"]["acc"] == pytest.approx(0.75) and per["ds/s1"]["n"] == 2
  assert per["ds/s2"]["acc"] == 1.0


def test_paired_bootstrap_diff_and_alignment(tmp_path):
  rows_a = [(f"s{j}", f"c{j}{i}", "xy"[i % 2], "xy"[(i + j) % 2]) for j in range(5)
            for i in range(4)]
  rows_b = [(s, c, lab, lab if s in ("s0", "s1") else pred)
            for s, c, lab, pred in rows_a]
  a = stats.load_run(_write_run(tmp_path, rows_a, "a"))
  b = stats.load_run(_write_run(tmp_path, rows_b, "b"))
  same = stats.paired_bootstrap_diff(a, a, n_boot=200)
  assert same["uf1"]["ci_low"] == same["uf1"]["ci_high"] == 0.0
  diff = stats.paired_bootstrap_diff(a, b, n_boot=300, seed=2)
  assert diff["acc"]["diff"] == pytest.approx(diff["acc"]["a"] - diff["acc"]["b"])
  assert diff["acc"]["ci_low"] <= diff["acc"]["diff"] <= diff["acc"]["ci_high"] <= 0.0
  c = stats.compare_runs(a, b, n_boot=100)
  assert c["num_subjects"] == 5 and c["num_clips"] == 20
  # per-subject acc: A = [1, 0, 1, 0, 1] (pred == label iff j even), B = [1, 1, 1, 0, 1]
  assert c["per_subject"]["acc"]["mean_a"] == pytest.approx(0.6)
  assert c["per_subject"]["acc"]["mean_diff"] == pytest.approx(-0.2)
  ref = scipy.stats.wilcoxon([1, 0, 1, 0, 1], [1, 1, 1, 0, 1])
  assert c["per_subject"]["acc"]["wilcoxon"]["pvalue"] == pytest.approx(ref.pvalue)
  with pytest.raises(MerjaxError, match="not the same folds/clips"):
    stats.align_runs(a, stats.load_run(_write_run(tmp_path, rows_a[:-1], "c")))
  flipped = [(s, c_, "y" if lab == "x" else "x", p) for s, c_, lab, p in rows_a]
  with pytest.raises(MerjaxError, match="different labels"):
    stats.align_runs(a, stats.load_run(_write_run(tmp_path, flipped, "d")))

"""Seed statistics, subject-level bootstrap CIs and paired comparison of two runs.

Statistics (docs/statistics.md has when to use which):
  seed_summary: mean, sample std (ddof=1) and a percentile bootstrap CI of a
    metric's mean over seeds.
  subject_bootstrap: percentile CI of pooled UF1/UAR/Acc, resampling
    *subjects* with replacement (every prediction of a drawn subject moves
    with it; with several seeds the same draw is used for every seed and the
    replicate is the mean over seeds, like metrics.json's top-level pooled).
  compare_runs: two runs on the same clips: Wilcoxon signed-rank and paired
    t-test over per-subject Acc / UF1 / UAR, and the paired subject bootstrap
    CI of the difference A - B of the pooled metrics.
The tests are plain numpy (no scipy at runtime): `wilcoxon` follows
scipy.stats.wilcoxon's defaults (zero_method="wilcox", correction=False,
two-sided, method="auto"), `paired_ttest` follows scipy.stats.ttest_rel with
the t CDF from a continued-fraction regularised incomplete beta.
Every random draw comes from np.random.default_rng(seed).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from typing import NamedTuple
from collections.abc import Sequence

import numpy as np

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate

BOOT_METRICS = ("uf1", "uar", "acc")
SUBJECT_METRICS = ("acc", "uf1", "uar")
DEFAULT_N_BOOT = 2000
DEFAULT_CONFIDENCE = 0.95


# --- metrics over batches of confusion matrices -------------------------------

def batch_metrics(confusion_BKK: np.ndarray) -> dict[str, np.ndarray]:
  """acc, uf1, uar (each (...,)) of confusion matrices (..., K, K).

  Same class rules as metrics.metrics_from_confusion; NaN for an empty matrix.
  """
  cm = np.asarray(confusion_BKK, np.float64)
  tp = np.diagonal(cm, axis1=-2, axis2=-1)
  support, predicted = cm.sum(-1), cm.sum(-2)
  total = support.sum(-1)
  in_labels = support > 0
  seen = in_labels | (predicted > 0)
  with np.errstate(invalid="ignore", divide="ignore"):
    recall = np.where(in_labels, tp / np.where(in_labels, support, 1), 0.0)
    f1 = np.where(seen, 2 * tp / np.where(seen, support + predicted, 1), 0.0)
    return {"acc": tp.sum(-1) / total,
            "uf1": f1.sum(-1) / seen.sum(-1),
            "uar": recall.sum(-1) / in_labels.sum(-1)}


# --- runs -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RunPredictions:
  """One run's predictions over N rows; class ids index class_names.

  subject_N holds "dataset/subject" keys (plain subject without a dataset
  column); clip_N the clip id (row number within (seed, subject) when the
  file has no clip column); seed_N "0" when the file has no seed column.
  """
  path: str
  label_N: np.ndarray
  pred_N: np.ndarray
  subject_N: np.ndarray
  clip_N: np.ndarray
  fold_N: np.ndarray
  seed_N: np.ndarray
  class_names: tuple[str, ...]

  @property
  def seeds(self) -> list[str]:
    return sorted(set(self.seed_N.tolist()), key=natural_key)

  @property
  def subjects(self) -> list[str]:
    return sorted(set(self.subject_N.tolist()), key=natural_key)


def natural_key(key: str):
  return (0, int(key), "") if key.lstrip("-").isdigit() else (1, 0, key)


def predictions_path(run: str) -> str:
  """RUN (a run directory or a predictions CSV) -> the CSV path."""
  path = os.path.join(run, "predictions.csv") if os.path.isdir(run) else run
  if not os.path.isfile(path):
    raise MerjaxError(f"{run}: no predictions.csv (not a run directory or CSV file)")
  return path


def _run_class_names(run: str) -> list[str] | None:
  """class_names from the run directory's metrics.json, if any."""
  path = os.path.join(run, "metrics.json") if os.path.isdir(run) else None
  if not path or not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      names = json.load(f).get("class_names")
  except (OSError, ValueError):
    return None
  return list(names) if names else None


def _clip_column(path: str) -> list[str] | None:
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.reader(f)
    header = [h.strip().lower() for h in next(reader)]
    if "clip" not in header:
      return None
    i = header.index("clip")
    return [row[i].strip() for row in reader if any(c.strip() for c in row)]


def load_run(run: str, class_names: Sequence[str] | None = None) -> RunPredictions:
  """Reads RUN (run directory or predictions CSV) with aggregate.read_predictions_csv.

  Class order: `class_names`, else metrics.json's, else the file's (sorted
  names or integer ids).
  """
  path = predictions_path(run)
  p = aggregate.read_predictions_csv(path)
  n = p.label_N.size
  file_names = p.class_names or [str(k) for k in range(p.num_classes)]
  names = list(class_names or _run_class_names(run) or file_names)
  missing = sorted(set(file_names) - set(names)) if p.class_names else []
  if missing:
    raise MerjaxError(f"{path}: classes {missing} not in {names}")
  if p.class_names is None and len(names) < p.num_classes:
    raise MerjaxError(f"{path}: class id {p.num_classes - 1} but {len(names)} class names")
  remap = np.asarray([names.index(c) for c in file_names]) if p.class_names else \
      np.arange(p.num_classes)
  subject = (list(p.subject_N) if p.dataset_N is None
             else [f"{d}/{s}" for d, s in zip(p.dataset_N, p.subject_N)])
  seed = list(p.seed_N) if p.seed_N is not None else ["0"] * n
  clip = _clip_column(path)
  if clip is None:
    counter: dict[tuple[str, str], int] = {}
    clip = []
    for s, subj in zip(seed, subject):
      counter[(s, subj)] = counter.get((s, subj), 0) + 1
      clip.append(f"#{counter[(s, subj)]}")
  return RunPredictions(path, remap[p.label_N], remap[p.pred_N], np.asarray(subject),
                        np.asarray(clip), np.asarray(p.fold_N), np.asarray(seed),
                        tuple(names))


def subject_confusions(run: RunPredictions, subjects: Sequence[str] | None = None
                       ) -> np.ndarray:
  """Confusion counts (S seeds, J subjects, K, K), seeds and subjects sorted."""
  subjects = list(subjects or run.subjects)
  seeds = run.seeds
  k = len(run.class_names)
  s_of = {s: i for i, s in enumerate(seeds)}
  s_idx = np.asarray([s_of[s] for s in run.seed_N])
  j_of = {s: j for j, s in enumerate(subjects)}
  j_idx = np.asarray([j_of[s] for s in run.subject_N])
  flat = ((s_idx * len(subjects) + j_idx) * k + run.label_N) * k + run.pred_N
  counts = np.bincount(flat, minlength=len(seeds) * len(subjects) * k * k)
  return counts.reshape(len(seeds), len(subjects), k, k)


def pooled_metrics(run: RunPredictions) -> dict[str, float]:
  """Mean over seeds of the pooled acc / uf1 / uar (metrics.json's pooled)."""
  m = batch_metrics(subject_confusions(run).sum(1))
  return {key: float(np.mean(v)) for key, v in m.items()}


def per_subject_metrics(run: RunPredictions) -> dict[str, dict]:
  """{subject: {acc, uf1, uar, n}}: each metric within the subject's clips of one
  seed, averaged over seeds; n = clips per seed. Always defined (a subject has
  >= 1 clip); UF1/UAR follow docs/metrics.md's absent-class rules.
  """
  subjects = run.subjects
  m = batch_metrics(subject_confusions(run, subjects))  # (S, J)
  n_SJ = subject_confusions(run, subjects).sum((-1, -2))
  return {s: {**{key: float(np.mean(m[key][:, j])) for key in SUBJECT_METRICS},
              "n": int(round(float(n_SJ[:, j].mean())))}
          for j, s in enumerate(subjects)}


# --- bootstrap ------------------------------------------------------------------

def percentile_ci(samples_B: np.ndarray, confidence: float) -> tuple[float, float]:
  """(low, high) percentiles (numpy's linear interpolation) of `samples_B`."""
  if not 0 < confidence < 1:
    raise MerjaxError(f"confidence must be in (0, 1), got {confidence}")
  a = (1 - confidence) / 2
  lo, hi = np.quantile(np.asarray(samples_B, np.float64), [a, 1 - a])
  return float(lo), float(hi)


def _resample_counts(rng: np.random.Generator, n_units: int, n_boot: int) -> np.ndarray:
  """(B, n_units) multiplicities of n_units draws with replacement."""
  if n_boot < 1:
    raise MerjaxError(f"n_boot must be >= 1, got {n_boot}")
  idx_BJ = rng.integers(0, n_units, size=(n_boot, n_units))
  offs = np.arange(n_boot)[:, None] * n_units
  return np.bincount((idx_BJ + offs).ravel(), minlength=n_boot * n_units
                     ).reshape(n_boot, n_units)


def seed_summary(values_S: Sequence[float], confidence: float = DEFAULT_CONFIDENCE,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = 0) -> dict:
  """{n, mean, std, ci_low, ci_high, values} of one metric over S seeds.

  std: sample std (ddof=1); CI: percentile bootstrap of the mean, resampling
  seeds. std and CI are None with fewer than 2 seeds.
  """
  v = np.asarray(values_S, np.float64).ravel()
  if v.size == 0:
    raise MerjaxError("seed_summary: no values")
  out = {"n": int(v.size), "mean": float(v.mean()), "std": None,
         "ci_low": None, "ci_high": None, "values": v.tolist()}
  if v.size >= 2:
    counts = _resample_counts(np.random.default_rng(seed), v.size, n_boot)
    out["std"] = float(v.std(ddof=1))
    out["ci_low"], out["ci_high"] = percentile_ci(counts @ v / v.size, confidence)
  return out


def seed_pooled_values(run: RunPredictions, metric: str = "uf1") -> dict[str, float]:
  """{seed: pooled metric of that seed}."""
  m = batch_metrics(subject_confusions(run).sum(1))[metric]
  return {s: float(v) for s, v in zip(run.seeds, m)}


def _boot_metrics(conf_SJKK: np.ndarray, counts_BJ: np.ndarray) -> dict[str, np.ndarray]:
  """(B,) mean-over-seeds pooled metrics of each resample of the subjects."""
  conf_BSKK = np.einsum("bj,sjkl->bskl", counts_BJ, conf_SJKK)
  return {k: v.mean(-1) for k, v in batch_metrics(conf_BSKK).items()}


def bootstrap_replicates(run: RunPredictions, n_boot: int = DEFAULT_N_BOOT,
                         seed: int = 0) -> dict[str, np.ndarray]:
  """{acc, uf1, uar: (n_boot,)} pooled metrics (mean over seeds) of subject
  resamples: J draws with replacement of the J subjects, each drawn subject
  bringing all its clips (of every seed)."""
  conf = subject_confusions(run)
  counts = _resample_counts(np.random.default_rng(seed), conf.shape[1], n_boot)
  return _boot_metrics(conf, counts)


def subject_bootstrap(run: RunPredictions, n_boot: int = DEFAULT_N_BOOT,
                      confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                      metrics: Sequence[str] = BOOT_METRICS) -> dict:
  """{metric: {estimate, ci_low, ci_high}}: pooled metric and its percentile CI
  over `bootstrap_replicates` (subjects resampled, not clips)."""
  boot = bootstrap_replicates(run, n_boot, seed)
  point = pooled_metrics(run)
  out = {}
  for m in metrics:
    lo, hi = percentile_ci(boot[m], confidence)
    out[m] = {"estimate": point[m], "ci_low": lo, "ci_high": hi}
  return out


def paired_bootstrap_diff(run_a: RunPredictions, run_b: RunPredictions,
                          n_boot: int = DEFAULT_N_BOOT,
                          confidence: float = DEFAULT_CONFIDENCE, seed: int = 0,
                          metrics: Sequence[str] = BOOT_METRICS) -> dict:
  """{metric: {a, b, diff, ci_low, ci_high}}: CI of pooled A - B, one subject
  resample per replicate applied to both runs (paired). Runs must be aligned.
  """
  subjects = run_a.subjects
  conf_a, conf_b = subject_confusions(run_a, subjects), subject_confusions(run_b, subjects)
  counts = _resample_counts(np.random.default_rng(seed), len(subjects), n_boot)
  boot_a, boot_b = _boot_metrics(conf_a, counts), _boot_metrics(conf_b, counts)
  pa, pb = pooled_metrics(run_a), pooled_metrics(run_b)
  out = {}
  for m in metrics:
    lo, hi = percentile_ci(boot_a[m] - boot_b[m], confidence)
    out[m] = {"a": pa[m], "b": pb[m], "diff": pa[m] - pb[m], "ci_low": lo, "ci_high": hi}
  return out


# --- tests ------------------------------------------------------------------------

class TestResult(NamedTuple):
  statistic: float
  pvalue: float
  method: str
  n: int


def _paired_diff(x, y) -> np.ndarray:
  x = np.asarray(x, np.float64).ravel()
  if y is None:
    d = x
  else:
    y = np.asarray(y, np.float64).ravel()
    if y.size != x.size:
      raise MerjaxError(f"paired test: {x.size} and {y.size} values")
    d = x - y
  if not np.all(np.isfinite(d)):
    raise MerjaxError("paired test: values contain NaN or inf")
  return d


def _rank_ties(a_N: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Average ranks (1-based) of a_N and the sizes of its tie groups."""
  _, inv, counts = np.unique(a_N, return_inverse=True, return_counts=True)
  ends = np.cumsum(counts)
  return ((ends - (counts - 1) / 2.0)[inv], counts)


def _signed_rank_pmf(n: int) -> np.ndarray:
  """P(R+ = r), r = 0..n(n+1)/2, with no ties or zeros."""
  c = np.ones(1)
  for k in range(1, n + 1):
    prev, c = c, np.zeros(k * (k + 1) // 2 + 1)
    c[:prev.size] = prev * 0.5
    c[-prev.size:] += prev * 0.5
  return c


def wilcoxon(x: Sequence[float], y: Sequence[float] | None = None) -> TestResult:
  """Two-sided Wilcoxon signed-rank test of d = x - y (or x), scipy's defaults.

  Zeros are dropped from the ranking ("wilcox"). Method, as
  scipy.stats.wilcoxon(method="auto"): n = len(d) > 50 -> normal
  approximation (tie-corrected variance, no continuity correction); else no
  ties and no zeros -> exact null distribution; else n <= 13 -> exact sign-flip
  permutation over all 2^n flips; else normal. statistic = min(R+, R-); p is NaN
  when the normal approximation meets all-zero differences.
  """
  d = _paired_diff(x, y)
  n = d.size
  if n == 0:
    return TestResult(math.nan, math.nan, "none", 0)
  nz = d != 0
  ranks = np.zeros(n)
  ties = np.zeros(0, np.int64)
  if nz.any():
    ranks[nz], ties = _rank_ties(np.abs(d[nz]))
  r_plus = float(ranks[d > 0].sum())
  r_minus = float(ranks[d < 0].sum())
  stat = min(r_plus, r_minus)
  count = int(nz.sum())
  has_ties = bool((ties > 1).any())
  if n > 50 or ((has_ties or not nz.all()) and n > 13):
    method = "normal"
  elif not has_ties and nz.all():
    method = "exact"
  else:
    method = "permutation"
  if method == "normal":
    mn = count * (count + 1) * 0.25
    var = (count * (count + 1) * (2 * count + 1) - np.sum(ties ** 3 - ties) / 2) / 24
    if var <= 0:
      return TestResult(stat, math.nan, method, n)
    z = (r_plus - mn) / math.sqrt(var)
    return TestResult(stat, min(1.0, math.erfc(abs(z) / math.sqrt(2))), method, n)
  if method == "exact":
    pmf = _signed_rank_pmf(count)
    k = int(round(r_plus))
    p = 2 * min(pmf[k:].sum(), pmf[:k + 1].sum())
    return TestResult(stat, float(min(1.0, p)), method, n)
  signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)  # (2^n, n)
  null = np.where(signs == (d > 0), ranks, 0.0).sum(1)
  gamma = abs(r_plus) * np.finfo(np.float64).eps * 100
  p = 2 * min(np.mean(null <= r_plus + gamma), np.mean(null >= r_plus - gamma))
  return TestResult(stat, float(min(1.0, p)), method, n)


def _betainc(a: float, b: float, x: float) -> float:
  """Regularised incomplete beta I_x(a, b) (continued fraction, modified Lentz)."""
  if x <= 0:
    return 0.0
  if x >= 1:
    return 1.0
  if x > (a + 1) / (a + b + 2):
    return 1.0 - _betainc(b, a, 1.0 - x)
  log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
               + a * math.log(x) + b * math.log1p(-x))
  tiny, eps = 1e-300, 1e-16
  c, dd = 1.0, 1.0 - (a + b) * x / (a + 1)
  dd = 1.0 / (dd if abs(dd) > tiny else tiny)
  f = dd
  for m in range(1, 1000):
    for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
      dd = 1.0 + num * dd
      dd = 1.0 / (dd if abs(dd) > tiny else tiny)
      c = 1.0 + num / c
      c = c if abs(c) > tiny else tiny
      f *= c * dd
    if abs(c * dd - 1.0) < eps:
      break
  return math.exp(log_front) * f / a


def t_two_sided_p(t: float, df: float) -> float:
  """P(|T| >= |t|) for Student's t with df degrees of freedom."""
  if math.isnan(t):
    return math.nan
  if math.isinf(t):
    return 0.0
  return min(1.0, _betainc(df / 2.0, 0.5, df / (df + t * t)))


def paired_ttest(x: Sequence[float], y: Sequence[float]) -> TestResult:
  """Two-sided paired t-test (scipy.stats.ttest_rel): t = mean(d) / (sd(d) / sqrt(n)),
  df = n - 1. NaN for n < 2 or all-equal zero differences; +-inf, p = 0 for a
  constant non-zero difference.
  """
  d = _paired_diff(x, y)
  n = d.size
  if n < 2:
    return TestResult(math.nan, math.nan, "t", n)
  mean, sd = float(d.mean()), float(d.std(ddof=1))
  if sd == 0:
    t = math.nan if mean == 0 else math.copysign(math.inf, mean)
  else:
    t = mean / (sd / math.sqrt(n))
  return TestResult(t, t_two_sided_p(t, n - 1), "t", n)


# --- comparison of two runs -------------------------------------------------------

def align_runs(run_a: RunPredictions, run_b: RunPredictions
               ) -> tuple[RunPredictions, RunPredictions]:
  """Both runs on one class list; MerjaxError unless every seed of both runs
  holds the same (subject, fold, clip) rows with the same labels."""
  names = list(run_a.class_names) + [c for c in run_b.class_names
                                     if c not in run_a.class_names]

  def recode(r):
    m = np.asarray([names.index(c) for c in r.class_names])
    return dataclasses.replace(r, label_N=m[r.label_N], pred_N=m[r.pred_N],
                               class_names=tuple(names))

  run_a, run_b = recode(run_a), recode(run_b)
  reference = None
  for r in (run_a, run_b):
    for s in r.seeds:
      idx = np.flatnonzero(r.seed_N == s)
      rows = {(r.subject_N[i], r.fold_N[i], r.clip_N[i]): r.label_N[i] for i in idx}
      if len(rows) != idx.size:
        raise MerjaxError(f"{r.path}: seed {s} repeats a (subject, fold, clip) row")
      if reference is None:
        reference = (r.path, s, rows)
        continue
      ref_path, ref_seed, ref = reference
      where = f"{r.path} seed {s} vs {ref_path} seed {ref_seed}"
      if rows.keys() != ref.keys():
        extra, lost = sorted(rows.keys() - ref.keys()), sorted(ref.keys() - rows.keys())
        one = (extra or lost)[0]
        raise MerjaxError(
            f"{where}: not the same folds/clips ({len(extra)} extra, {len(lost)} "
            f"missing, e.g. subject {one[0]} fold {one[1]} clip {one[2]})")
      bad = [k for k in rows if rows[k] != ref[k]]
      if bad:
        raise MerjaxError(f"{where}: {len(bad)} clips with different labels, e.g. "
                          f"{bad[0][2]}")
  return run_a, run_b


def compare_runs(run_a: RunPredictions, run_b: RunPredictions,
                 n_boot: int = DEFAULT_N_BOOT, confidence: float = DEFAULT_CONFIDENCE,
                 seed: int = 0) -> dict:
  """Paired comparison A vs B (aligned first; MerjaxError if not the same clips).

  Returns {run_a, run_b, class_names, num_subjects, num_clips, seeds_a, seeds_b,
  pooled: {metric: {a, b, diff, ci_low, ci_high}} (paired subject bootstrap),
  per_subject: {metric: {mean_a, mean_b, mean_diff, wilcoxon, ttest}},
  subjects: [{subject, n, acc_a, acc_b, uf1_a, ...}], bootstrap: {n_boot,
  confidence, seed}}.
  """
  run_a, run_b = align_runs(run_a, run_b)
  sa, sb = per_subject_metrics(run_a), per_subject_metrics(run_b)
  subjects = list(sa)
  per_subject = {}
  for m in SUBJECT_METRICS:
    xa = np.asarray([sa[s][m] for s in subjects])
    xb = np.asarray([sb[s][m] for s in subjects])
    per_subject[m] = {"mean_a": float(xa.mean()), "mean_b": float(xb.mean()),
                      "mean_diff": float((xa - xb).mean()),
                      "wilcoxon": wilcoxon(xa, xb)._asdict(),
                      "ttest": paired_ttest(xa, xb)._asdict()}
  return {
      "run_a": run_a.path, "run_b": run_b.path,
      "class_names": list(run_a.class_names),
      "num_subjects": len(subjects),
      "num_clips": int(np.sum(run_a.seed_N == run_a.seeds[0])),
      "seeds_a": run_a.seeds, "seeds_b": run_b.seeds,
      "pooled": paired_bootstrap_diff(run_a, run_b, n_boot, confidence, seed),
      "per_subject": per_subject,
      "subjects": [{"subject": s, "n": sa[s]["n"],
                    **{f"{m}_{t}": v[s][m] for m in SUBJECT_METRICS
                       for t, v in (("a", sa), ("b", sb))}} for s in subjects],
      "bootstrap": {"n_boot": int(n_boot), "confidence": float(confidence),
                    "seed": int(seed), "unit": "subject"},
  }


def format_comparison(c: dict, digits: int = 4) -> str:
  """Plain-text report of a compare_runs result."""
  pct = round(100 * c["bootstrap"]["confidence"])
  f = lambda v: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) \
      else f"{v:.{digits}f}"
  lines = [f"A: {c['run_a']} (seeds {', '.join(c['seeds_a'])})",
           f"B: {c['run_b']} (seeds {', '.join(c['seeds_b'])})",
           f"{c['num_subjects']} subjects, {c['num_clips']} clips per seed, "
           f"{len(c['class_names'])} classes", "",
           f"Pooled (mean over seeds); {pct}% CI of A - B: paired subject bootstrap, "
           f"{c['bootstrap']['n_boot']} resamples, seed {c['bootstrap']['seed']}",
           f"{'metric':<8}{'A':>10}{'B':>10}{'A - B':>10}   CI"]
  for m, v in c["pooled"].items():
    lines.append(f"{m.upper():<8}{f(v['a']):>10}{f(v['b']):>10}{f(v['diff']):>10}"
                 f"   [{f(v['ci_low'])}, {f(v['ci_high'])}]")
  lines += ["", f"Per subject (n = {c['num_subjects']}), two-sided paired tests on "
            "A - B:",
            f"{'metric':<8}{'mean A':>10}{'mean B':>10}{'mean A-B':>10}"
            f"{'Wilcoxon W':>12}{'p':>10}{'  method':<13}{'t':>9}{'p':>10}"]
  for m, v in c["per_subject"].items():
    w, t = v["wilcoxon"], v["ttest"]
    lines.append(f"{m.upper():<8}{f(v['mean_a']):>10}{f(v['mean_b']):>10}"
                 f"{f(v['mean_diff']):>10}{f(w['statistic']):>12}{f(w['pvalue']):>10}"
                 f"  {w['method']:<11}{f(t['statistic']):>9}{f(t['pvalue']):>10}")
  lines += ["", "Per-subject UF1/UAR use the absent-class rules of docs/metrics.md "
            "inside one subject; per-subject accuracy is the primary paired measure."]
  return "\n".join(lines) + "\n"

"""Fold, dataset and seed aggregation of predictions into `metrics.json`.

Two aggregations, both always reported (docs/metrics.md):
  pooled: every prediction of every fold in one confusion matrix, i.e.
    per-class TP/FP/FN summed over folds, then the metric (MEGC2019 protocol).
  fold_mean: the metric computed within each fold, then averaged over folds.
Per-dataset figures restrict the same predictions to one dataset (a fold
then holds only that dataset's samples; folds without any are dropped).
Several seeds: each seed is summarised alone, top-level values are the mean
over seeds and `*_std` the sample standard deviation (ddof=1).
"""

from __future__ import annotations

import csv
import dataclasses
import re

import numpy as np

from merjax.errors import MerjaxError
from merjax.evaluation import metrics as metrics_lib

STD_DDOF = 1
DEFINITIONS = {
    "pooled": "per-class TP/FP/FN summed over all folds, then the metric "
              "(MEGC2019 protocol)",
    "fold_mean": "metric computed within each fold, then averaged over folds",
    "uar": "mean recall over classes present in the labels (not "
           "macro-precision)",
    "uf1": "mean F1 = 2TP/(2TP+FP+FN) over classes present in labels or "
           "predictions",
    "war": "weighted average recall = accuracy",
}


def _keys(values_N, n: int, name: str) -> list[str] | None:
  """`values_N` as a list of n strings (None stays None)."""
  if values_N is None:
    return None
  keys = [str(v) for v in np.asarray(values_N, dtype=object).reshape(-1)]
  if len(keys) != n:
    raise MerjaxError(f"{len(keys)} {name} values for {n} predictions")
  return keys


def _groups(keys: list[str]) -> dict[str, np.ndarray]:
  """Row indices per key, keys in order of first appearance."""
  out: dict[str, list[int]] = {}
  for i, k in enumerate(keys):
    out.setdefault(k, []).append(i)
  return {k: np.asarray(v) for k, v in out.items()}


def _fold_metrics(label_N, pred_N, num_classes, fold) -> dict[str, dict]:
  """Scalar metrics per fold, plus that fold's prediction count."""
  out = {}
  for key, idx in _groups(fold).items():
    m = metrics_lib.classification_metrics(
        label_N[idx], pred_N[idx], num_classes)
    out[key] = {**metrics_lib.scalar_metrics(m), "num_predictions": idx.size}
  return out


def _mean_of(dicts: list[dict]) -> dict:
  """Mean of each scalar metric over `dicts`."""
  return {k: float(np.mean([d[k] for d in dicts]))
          for k in metrics_lib.SCALAR_KEYS}


def _std_of(dicts: list[dict]) -> dict:
  """Sample std (ddof=1) of each scalar metric; None with < 2 values."""
  if len(dicts) <= STD_DDOF:
    return {k: None for k in metrics_lib.SCALAR_KEYS}
  return {k: float(np.std([d[k] for d in dicts], ddof=STD_DDOF))
          for k in metrics_lib.SCALAR_KEYS}


def _two_ways(label_N, pred_N, num_classes, fold) -> dict:
  """{num_predictions, num_folds, pooled, fold_mean, per_fold} for one set."""
  per_fold = _fold_metrics(label_N, pred_N, num_classes, fold)
  return {
      "num_predictions": int(label_N.size),
      "num_folds": len(per_fold),
      "pooled": metrics_lib.classification_metrics(
          label_N, pred_N, num_classes),
      "fold_mean": _mean_of(list(per_fold.values())),
      "per_fold": per_fold,
  }


def _one_seed(label_N, pred_N, num_classes, fold, dataset) -> dict:
  """Summary of one seed's predictions, with per_dataset when known."""
  out = _two_ways(label_N, pred_N, num_classes, fold)
  if dataset is not None:
    out["per_dataset"] = {}
    for name, idx in _groups(dataset).items():
      sub = _two_ways(label_N[idx], pred_N[idx], num_classes,
                      [fold[i] for i in idx])
      del sub["per_fold"]
      out["per_dataset"][name] = sub
  return out


def _over_seeds(summaries: list[dict]) -> dict:
  """Mean and std over seeds of the pooled and fold_mean scalars."""
  pooled = [metrics_lib.scalar_metrics(s["pooled"]) for s in summaries]
  folds = [s["fold_mean"] for s in summaries]
  return {
      "num_seeds": len(summaries),
      "num_predictions": sum(s["num_predictions"] for s in summaries),
      "pooled": _mean_of(pooled), "pooled_std": _std_of(pooled),
      "fold_mean": _mean_of(folds), "fold_mean_std": _std_of(folds),
  }


def _multi_seed(seeds: dict[str, dict]) -> dict:
  """Top-level multi-seed summary from per-seed summaries."""
  out = _over_seeds(list(seeds.values()))
  names = []
  for s in seeds.values():
    names += [d for d in s.get("per_dataset", {}) if d not in names]
  if names:
    out["per_dataset"] = {
        d: _over_seeds([s["per_dataset"][d] for s in seeds.values()
                        if d in s.get("per_dataset", {})])
        for d in names}
  out["std_ddof"] = STD_DDOF
  out["seeds"] = seeds
  return out


def summarize(label_N, pred_N, num_classes: int, fold_N, dataset_N=None,
              seed_N=None, class_names=None) -> dict:
  """The `metrics.json` structure for integer labels/predictions (N,).

  fold_N (and dataset_N, seed_N) are any per-row keys, compared as strings.
  Single seed: {num_predictions, num_folds, num_classes, class_names,
  definitions, pooled (scalars + per_class + confusion), fold_mean (scalars),
  per_fold, per_dataset?}. Several seeds: pooled / fold_mean hold the mean
  over seeds of each scalar, pooled_std / fold_mean_std the sample std
  (ddof=1), num_seeds, std_ddof, and seeds: {seed: single-seed summary};
  per_dataset entries have the same mean/std form.
  """
  label, pred = metrics_lib.check_labels(label_N, pred_N, num_classes)
  if label.size == 0:
    raise MerjaxError("no predictions to score")
  fold = _keys(fold_N, label.size, "fold")
  dataset = _keys(dataset_N, label.size, "dataset")
  seed = _keys(seed_N, label.size, "seed")
  seed_groups = _groups(seed) if seed is not None else {}
  if len(seed_groups) > 1:
    seeds = {
        s: _one_seed(label[idx], pred[idx], num_classes,
                     [fold[i] for i in idx],
                     None if dataset is None else [dataset[i] for i in idx])
        for s, idx in seed_groups.items()}
    body = _multi_seed(seeds)
  else:
    body = _one_seed(label, pred, num_classes, fold, dataset)
    if seed_groups:
      body["seed"] = next(iter(seed_groups))
  head = {
      "num_predictions": int(label.size),
      "num_folds": len(_groups(fold)),
      "num_classes": int(num_classes),
      "class_names": None if class_names is None else list(class_names),
      "definitions": DEFINITIONS,
  }
  return {**head, **body}


# --- predictions CSV ---------------------------------------------------------

REQUIRED_COLUMNS = ("subject", "label", "pred")
OPTIONAL_COLUMNS = ("dataset", "fold", "seed")
_INT = re.compile(r"^[+-]?\d+$")


@dataclasses.dataclass(frozen=True)
class Predictions:
  """Predictions read from a CSV: integer label_N / pred_N and row keys."""
  label_N: np.ndarray
  pred_N: np.ndarray
  subject_N: list[str]
  fold_N: list[str]
  dataset_N: list[str] | None
  seed_N: list[str] | None
  num_classes: int
  class_names: list[str] | None  # None when the file gives integers


def _read_rows(path: str) -> tuple[list[str], list[tuple[int, dict]]]:
  """(header, [(line number, row dict)]) with lower-cased column names."""
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      reader = csv.reader(f)
      header = next(reader, None)
      if header is None:
        raise MerjaxError(f"{path}: empty file")
      header = [h.strip().lower() for h in header]
      rows = []
      for line in reader:
        if not any(c.strip() for c in line):
          continue
        if len(line) != len(header):
          raise MerjaxError(
              f"{path} line {reader.line_num}: {len(line)} fields, header "
              f"has {len(header)}")
        rows.append((reader.line_num, dict(zip(header, line))))
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    raise MerjaxError(f"{path}: cannot read: {e}") from None
  return header, rows


def _column(path, rows, name) -> list[str]:
  """Stripped values of one column; MerjaxError on an empty cell."""
  out = []
  for line, row in rows:
    value = row[name].strip()
    if not value:
      raise MerjaxError(f"{path} line {line}: empty '{name}'")
    out.append(value)
  return out


def _encode_classes(path, labels, preds, class_names=None):
  """(label_N, pred_N, num_classes, class_names) from raw cell strings; with
  `class_names`, names are coded by their position in it."""
  if class_names is not None:
    index = {n: i for i, n in enumerate(class_names)}
    unknown = sorted((set(labels) | set(preds)) - set(index))
    if unknown:
      raise MerjaxError(f"{path}: class name(s) {', '.join(unknown)} not in {list(class_names)}")
    return (np.asarray([index[v] for v in labels], dtype=np.int64),
            np.asarray([index[v] for v in preds], dtype=np.int64),
            len(class_names), list(class_names))
  label_int = all(_INT.match(v) for v in labels)
  pred_int = all(_INT.match(v) for v in preds)
  if label_int and pred_int:
    label_N = np.asarray([int(v) for v in labels], dtype=np.int64)
    pred_N = np.asarray([int(v) for v in preds], dtype=np.int64)
    if min(label_N.min(), pred_N.min()) < 0:
      raise MerjaxError(f"{path}: negative class id")
    return label_N, pred_N, int(max(label_N.max(), pred_N.max())) + 1, None
  if label_int or pred_int:
    raise MerjaxError(
        f"{path}: one of 'label'/'pred' holds integers and the other class "
        "names; use one form")
  names = sorted(set(labels) | set(preds))
  index = {n: i for i, n in enumerate(names)}
  return (np.asarray([index[v] for v in labels], dtype=np.int64),
          np.asarray([index[v] for v in preds], dtype=np.int64),
          len(names), names)


def read_predictions_csv(path: str, class_names=None) -> Predictions:
  """Parse a predictions CSV (columns subject,label,pred[,dataset,fold,seed]).

  Labels are integers when every label and pred cell is one, else class
  names (class set = `class_names` in that order when given, else the sorted
  union of names in both columns). Without a
  `fold` column the fold is the subject (LOSO), or dataset/subject when a
  `dataset` column exists. Bad input raises MerjaxError "PATH...: reason".
  """
  header, rows = _read_rows(path)
  missing = [c for c in REQUIRED_COLUMNS if c not in header]
  if missing:
    raise MerjaxError(
        f"{path}: missing column(s) {', '.join(missing)} "
        f"(header: {','.join(header)})")
  if not rows:
    raise MerjaxError(f"{path}: no prediction rows")
  get = {c: _column(path, rows, c)
         for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c in header}
  label_N, pred_N, k, names = _encode_classes(path, get["label"], get["pred"],
                                              class_names)
  dataset = get.get("dataset")
  fold = get.get("fold") or (
      get["subject"] if dataset is None
      else [f"{d}/{s}" for d, s in zip(dataset, get["subject"])])
  return Predictions(label_N, pred_N, get["subject"], fold, dataset,
                     get.get("seed"), k, names)


def summarize_predictions(p: Predictions) -> dict:
  """`summarize` applied to a parsed predictions file."""
  return summarize(p.label_N, p.pred_N, p.num_classes, p.fold_N, p.dataset_N,
                   p.seed_N, class_names=p.class_names)

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
import difflib
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
    "wf1": "support-weighted mean F1 (scikit-learn average='weighted'; FDP's release)",
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


_MISSING = {"nan", "none", "null", "na", "n/a", "-", "?"}
_TYPO_RATIO = 0.85    # difflib ratio above which two class names look like one misspelt


def logit_classes(header: list[str]) -> list[str] | None:
  """Class names of a predictions header's `logit_<class>` columns, in order (None if none)."""
  names = [h[len("logit_"):] for h in header if h.startswith("logit_")]
  return names or None


def _closest(value: str, names) -> str:
  close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.6)
  lower = [n for n in names if n.lower() == value.lower()]
  hit = lower or close
  return f"; did you mean '{hit[0]}'?" if hit else ""


def _encode_classes(path, lines, labels, preds, class_names=None):
  """(label_N, pred_N, num_classes, class_names) from raw cell strings.

  With `class_names`, every cell must be one of them (or every cell an integer
  code 0..K-1); anything else is refused naming its line. Without, integers are
  codes and names form the sorted class set, refusing what would silently make
  an extra class: a missing-value token (nan), an integer among names, two
  spellings differing only in case, or two names one typo apart.
  """
  cells = [(line, col, v) for col, values in (("label", labels), ("pred", preds))
           for line, v in zip(lines, values)]
  all_int = all(_INT.match(v) for _, _, v in cells)
  if class_names is not None:
    names = list(class_names)
    if all_int:
      for line, col, v in cells:
        if not 0 <= int(v) < len(names):
          raise MerjaxError(f"{path} line {line}: {col} {v} is not a class code "
                            f"0..{len(names) - 1}")
      index = {str(i): i for i in range(len(names))}
      index.update({v: int(v) for _, _, v in cells})
    else:
      index = {n: i for i, n in enumerate(names)}
      for line, col, v in cells:
        if v not in index:
          raise MerjaxError(f"{path} line {line}: {col} '{v}' is not a class "
                            f"(classes: {', '.join(names)}){_closest(v, names)}")
    return (np.asarray([index[v] for v in labels], dtype=np.int64),
            np.asarray([index[v] for v in preds], dtype=np.int64), len(names), names)
  if all_int:
    label_N = np.asarray([int(v) for v in labels], dtype=np.int64)
    pred_N = np.asarray([int(v) for v in preds], dtype=np.int64)
    if min(label_N.min(), pred_N.min()) < 0:
      raise MerjaxError(f"{path}: negative class id")
    return label_N, pred_N, int(max(label_N.max(), pred_N.max())) + 1, None
  label_int = all(_INT.match(v) for v in labels)
  pred_int = all(_INT.match(v) for v in preds)
  if label_int or pred_int:
    raise MerjaxError(
        f"{path}: one of 'label'/'pred' holds integers and the other class "
        "names; use one form")
  first: dict[str, tuple[int, str]] = {}
  for line, col, v in cells:
    if v.lower() in _MISSING:
      raise MerjaxError(f"{path} line {line}: {col} '{v}' is a missing value, not a class name")
    if _INT.match(v):
      raise MerjaxError(f"{path} line {line}: {col} '{v}' is an integer among class names; "
                        f"use one form")
    first.setdefault(v, (line, col))
  spelled: dict[str, str] = {}
  for v in first:
    other = spelled.setdefault(v.lower(), v)
    if other != v:
      line, col = first[v]
      raise MerjaxError(f"{path} line {line}: {col} '{v}' differs only in case from '{other}' "
                        f"(line {first[other][0]}); write every class one way")
  names = sorted(first)
  for i, a in enumerate(names):
    for b in names[i + 1:]:
      if difflib.SequenceMatcher(None, a, b).ratio() >= _TYPO_RATIO:
        rare = min((a, b), key=lambda n: (labels.count(n) + preds.count(n), n))
        line, col = first[rare]
        raise MerjaxError(
            f"{path} line {line}: {col} '{rare}' and '{b if rare == a else a}' look like one "
            f"class spelt two ways; pass the class list (--classes) to score them as given")
  index = {n: i for i, n in enumerate(names)}
  return (np.asarray([index[v] for v in labels], dtype=np.int64),
          np.asarray([index[v] for v in preds], dtype=np.int64),
          len(names), names)


def _check_duplicates(path, lines, get):
  """A repeated (dataset, subject, clip, seed, fold) row is an error naming both
  lines (only checked when the file has a clip column)."""
  if "clip" not in get:
    return
  keys = [c for c in ("dataset", "subject", "clip", "seed", "fold") if c in get]
  seen = {}
  for i, line in enumerate(lines):
    key = tuple(get[c][i] for c in keys)
    if key in seen:
      what = " ".join(f"{c} {v}" for c, v in zip(keys, key))
      raise MerjaxError(f"{path} line {line}: duplicate prediction ({what}; also line "
                        f"{seen[key]}); each clip is scored once per seed and fold")
    seen[key] = line


def read_predictions_csv(path: str, class_names=None) -> Predictions:
  """Parse a predictions CSV (columns subject,label,pred[,dataset,clip,fold,seed]).

  The class list is `class_names` when given, else the header's `logit_<class>`
  columns (a run's predictions.csv), and every label and pred must be one of
  it (or every cell an integer code). Without either, integer cells are codes
  and names form the sorted class set (see _encode_classes for what is
  refused). Rows repeating (dataset, subject, clip, seed, fold) are refused.
  Without a `fold` column the fold is the subject (LOSO), or dataset/subject
  when a `dataset` column exists. Bad input raises MerjaxError "PATH...: reason".
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
         for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS + ("clip",) if c in header}
  lines = [line for line, _ in rows]
  from_header = logit_classes(header)
  if class_names is not None and from_header is not None and list(class_names) != from_header:
    raise MerjaxError(f"{path}: the class list {', '.join(class_names)} differs from the "
                      f"file's logit_ columns ({', '.join(from_header)})")
  return predictions_from_columns(
      path, lines, get, class_names if class_names is not None else from_header)


def predictions_from_columns(path: str, lines: list[int], get: dict[str, list[str]],
                             class_names=None) -> Predictions:
  """Predictions from cell strings per column (subject, label, pred; optional dataset,
  clip, fold, seed), `lines[i]` the file line of row i: the one encoding behind
  read_predictions_csv and merjax.evaluation.peer_logs (classes, duplicates, fold rule)."""
  _check_duplicates(path, lines, get)
  label_N, pred_N, k, names = _encode_classes(
      path, lines, get["label"], get["pred"], class_names)
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

"""Action-unit detection metrics: per-AU F1 and their mean, pooled and fold-mean,
per dataset and per seed (data.task=au; docs/au.md, docs/metrics.md).

A prediction is positive where its logit is > 0 (sigmoid probability > 0.5).
  per-AU F1 = 2TP / (2TP + FP + FN) of that AU's binary decisions; an AU with
    2TP + FP + FN = 0 (absent from the labels and never predicted) has F1 None and
    enters no mean;
  mean_f1 = the mean of the defined per-AU F1s;
  pooled = TP/FP/FN summed over every fold's predictions, then the F1s;
  fold_mean = each fold's mean_f1 (and per-AU F1s), averaged over the folds where it is
    defined.
Several seeds: each seed alone, top-level values the mean over seeds, `*_std` the sample
std (ddof=1), as merjax/evaluation/aggregate.py does for classification.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np

from merjax.errors import MerjaxError

STD_DDOF = 1
TRUE_PREFIX = "true_"
LOGIT_PREFIX = "logit_"
NONE = "none"          # the label / pred cell of a clip with no AU of the set
DEFINITIONS = {
    "f1": "per AU: 2TP/(2TP+FP+FN) with positive = logit > 0; None when the AU is "
          "neither in the labels nor predicted",
    "mean_f1": "mean of the defined per-AU F1s",
    "pooled": "per-AU TP/FP/FN summed over all folds, then the F1s",
    "fold_mean": "F1s within each fold, averaged over the folds where defined",
}


def au_f1(true_NxA, pred_NxA, names) -> dict:
  """{mean_f1, per_au: {AU: {f1, precision, recall, support, predicted, tp}}} of 0/1
  (or boolean) N x A arrays."""
  t = np.asarray(true_NxA).astype(bool)
  p = np.asarray(pred_NxA).astype(bool)
  if t.shape != p.shape or t.ndim != 2 or t.shape[1] != len(names):
    raise MerjaxError(f"AU labels {t.shape} and predictions {p.shape} do not match "
                      f"{len(names)} AUs")
  tp, fp, fn = (t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)
  per_au = {}
  for a, name in enumerate(names):
    den = 2 * tp[a] + fp[a] + fn[a]
    per_au[name] = {
        "f1": float(2 * tp[a] / den) if den else None,
        "precision": float(tp[a] / (tp[a] + fp[a])) if tp[a] + fp[a] else None,
        "recall": float(tp[a] / (tp[a] + fn[a])) if tp[a] + fn[a] else None,
        "support": int(t[:, a].sum()), "predicted": int(p[:, a].sum()), "tp": int(tp[a])}
  return {"mean_f1": _mean([v["f1"] for v in per_au.values()]), "per_au": per_au}


def _mean(values) -> float | None:
  values = [v for v in values if v is not None]
  return float(np.mean(values)) if values else None


def _std(values) -> float | None:
  values = [v for v in values if v is not None]
  return float(np.std(values, ddof=STD_DDOF)) if len(values) > STD_DDOF else None


def _groups(keys) -> dict[str, np.ndarray]:
  out: dict[str, list[int]] = {}
  for i, k in enumerate(keys):
    out.setdefault(str(k), []).append(i)
  return {k: np.asarray(v) for k, v in out.items()}


def _scalars(m: dict) -> dict:
  """{mean_f1, f1_<AU>...} of an au_f1 result."""
  return {"mean_f1": m["mean_f1"], **{f"f1_{a}": v["f1"] for a, v in m["per_au"].items()}}


def _two_ways(t, p, names, fold) -> dict:
  per_fold = {k: {**_scalars(au_f1(t[idx], p[idx], names)), "num_predictions": int(idx.size)}
              for k, idx in _groups(fold).items()}
  keys = ["mean_f1"] + [f"f1_{a}" for a in names]
  return {"num_predictions": int(len(t)), "num_folds": len(per_fold),
          "pooled": au_f1(t, p, names),
          "fold_mean": {k: _mean([f[k] for f in per_fold.values()]) for k in keys},
          "per_fold": per_fold}


def _one_seed(t, p, names, fold, dataset) -> dict:
  out = _two_ways(t, p, names, fold)
  if dataset is not None:
    out["per_dataset"] = {}
    for name, idx in _groups(dataset).items():
      sub = _two_ways(t[idx], p[idx], names, [fold[i] for i in idx])
      del sub["per_fold"]
      out["per_dataset"][name] = sub
  return out


def _over_seeds(summaries: list[dict], names) -> dict:
  keys = ["mean_f1"] + [f"f1_{a}" for a in names]
  pooled = [_scalars(s["pooled"]) for s in summaries]
  folds = [s["fold_mean"] for s in summaries]
  return {"num_seeds": len(summaries),
          "num_predictions": sum(s["num_predictions"] for s in summaries),
          "pooled": {k: _mean([d[k] for d in pooled]) for k in keys},
          "pooled_std": {k: _std([d[k] for d in pooled]) for k in keys},
          "fold_mean": {k: _mean([d[k] for d in folds]) for k in keys},
          "fold_mean_std": {k: _std([d[k] for d in folds]) for k in keys}}


def summarize(true_NxA, pred_NxA, names, fold_N, dataset_N=None, seed_N=None) -> dict:
  """The metrics.json structure of an AU run (module docstring: the definitions).

  Single seed: {task, au_names, num_predictions, num_folds, definitions, pooled
  (mean_f1 + per_au), fold_mean ({mean_f1, f1_<AU>}), per_fold, per_dataset?}. Several
  seeds: pooled / fold_mean hold means over seeds of mean_f1 and each f1_<AU>, *_std the
  sample std, and seeds: {seed: single-seed summary}."""
  t, p = np.asarray(true_NxA), np.asarray(pred_NxA)
  if len(t) == 0:
    raise MerjaxError("no predictions to score")
  names = list(names)
  fold = [str(f) for f in fold_N]
  dataset = None if dataset_N is None else [str(d) for d in dataset_N]
  seeds = _groups(seed_N) if seed_N is not None else {}
  if len(seeds) > 1:
    per_seed = {s: _one_seed(t[idx], p[idx], names, [fold[i] for i in idx],
                             None if dataset is None else [dataset[i] for i in idx])
                for s, idx in seeds.items()}
    body = _over_seeds(list(per_seed.values()), names)
    if dataset is not None:
      body["per_dataset"] = {
          d: _over_seeds([s["per_dataset"][d] for s in per_seed.values()
                          if d in s["per_dataset"]], names)
          for d in dict.fromkeys(x for s in per_seed.values() for x in s["per_dataset"])}
    body.update(std_ddof=STD_DDOF, seeds=per_seed)
  else:
    body = _one_seed(t, p, names, fold, dataset)
    if seeds:
      body["seed"] = next(iter(seeds))
  head = {"task": "au", "au_names": names, "num_predictions": int(len(t)),
          "num_folds": len(_groups(fold)), "definitions": DEFINITIONS}
  return {**head, **body}


# --- predictions CSV ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AUPredictions:
  """An AU run's predictions.csv: true_NxA (0/1), logit_NxA and the row keys."""
  names: list[str]
  true_NxA: np.ndarray
  logit_NxA: np.ndarray
  subject_N: list[str]
  fold_N: list[str]
  dataset_N: list[str] | None
  seed_N: list[str] | None

  @property
  def pred_NxA(self) -> np.ndarray:
    return self.logit_NxA > 0


def is_au_header(header) -> bool:
  """Whether a predictions header is an AU run's (it has true_<AU> columns)."""
  return any(h.strip().lower().startswith(TRUE_PREFIX) for h in header)


def is_au_file(path: str) -> bool:
  """Whether the predictions CSV at `path` is an AU run's."""
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      return is_au_header(next(csv.reader(f), []))
  except OSError:
    return False


def label_text(vector, names) -> str:
  """`AU1+AU2` of a 0/1 (or boolean) vector over `names`; NONE when empty."""
  on = [n for n, v in zip(names, vector) if v]
  return "+".join(on) or NONE


def read_predictions(path: str) -> AUPredictions:
  """Parses an AU predictions CSV (rundir.PREDICTION_COLUMNS, logit_<AU>, true_<AU>);
  a bad cell is a MerjaxError naming the file and line."""
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      rows = list(csv.reader(f))
  except OSError as e:
    raise MerjaxError(f"{path}: cannot read: {e}") from None
  if not rows:
    raise MerjaxError(f"{path}: empty file")
  header = [h.strip() for h in rows[0]]
  logits = [h[len(LOGIT_PREFIX):] for h in header if h.startswith(LOGIT_PREFIX)]
  trues = [h[len(TRUE_PREFIX):] for h in header if h.startswith(TRUE_PREFIX)]
  if not logits or logits != trues or "subject" not in header:
    raise MerjaxError(f"{path}: not an AU predictions file (needs subject and matching "
                      f"logit_<AU> / true_<AU> columns)")
  col = {h: i for i, h in enumerate(header)}
  body = [(n, r) for n, r in enumerate(rows[1:], 2) if any(c.strip() for c in r)]
  if not body:
    raise MerjaxError(f"{path}: no prediction rows")
  t, z = [], []
  for n, r in body:
    if len(r) != len(header):
      raise MerjaxError(f"{path} line {n}: {len(r)} fields, header has {len(header)}")
    try:
      z.append([float(r[col[LOGIT_PREFIX + a]]) for a in logits])
      t.append([int(r[col[TRUE_PREFIX + a]]) for a in logits])
    except ValueError:
      raise MerjaxError(f"{path} line {n}: a logit_ or true_ cell is not a number") from None
    if not set(t[-1]) <= {0, 1}:
      raise MerjaxError(f"{path} line {n}: a true_ cell is not 0 or 1")
  get = lambda c: [r[col[c]].strip() for _, r in body] if c in col else None
  subject, dataset = get("subject"), get("dataset")
  fold = get("fold") or (subject if dataset is None
                         else [f"{d}/{s}" for d, s in zip(dataset, subject)])
  return AUPredictions(logits, np.asarray(t, np.int64), np.asarray(z, np.float64), subject,
                       fold, dataset, get("seed"))


def summarize_predictions(p: AUPredictions) -> dict:
  """`summarize` of a parsed AU predictions file."""
  return summarize(p.true_NxA, p.pred_NxA, p.names, p.fold_N, p.dataset_N, p.seed_N)


# --- tables ------------------------------------------------------------------

LEGEND = ("per-AU F1 = 2TP/(2TP+FP+FN), positive = logit > 0; mean F1 = mean over the AUs "
          "present in the labels or predictions (n/a: neither). pooled = TP/FP/FN summed over "
          "all folds; fold-mean = F1 within each fold, averaged over folds.")


def result_rows(summary: dict) -> list[dict]:
  """Rows {aggregation, dataset, n, values: {mean_f1 / f1_<AU>: (mean, std | None)}}."""
  keys = ["mean_f1"] + [f"f1_{a}" for a in summary["au_names"]]
  parts = [("all", summary)] + list(summary.get("per_dataset", {}).items())
  rows = []
  for agg, label in (("pooled", "pooled"), ("fold_mean", "fold-mean")):
    for dataset, part in parts:
      values = part[agg] if "per_au" not in part[agg] else _scalars(part[agg])
      std = part.get(f"{agg}_std") or {}
      rows.append({"aggregation": label, "dataset": dataset, "n": part["num_predictions"],
                   "values": {k: (values[k], std.get(k)) for k in keys}})
  return rows


def _cell(mean, std, digits=4) -> str:
  if mean is None:
    return "n/a"
  return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def format_markdown(summary: dict) -> str:
  """Markdown table: one row per aggregation x dataset, mean F1 then each AU's F1."""
  from merjax.evaluation import tables  # pylint: disable=import-outside-toplevel
  names = summary["au_names"]
  mark = tables.oracle_mark(summary)       # train.selection.rule=oracle: every row says so
  lines = ["| Aggregation | Dataset | N | mean F1 | " + " | ".join(names) + " |",
           "|---|---|---:|---:|" + "---:|" * len(names)]
  for r in result_rows(summary):
    v = r["values"]
    lines.append(f"| {r['aggregation']}{mark} | {r['dataset']} | {r['n']} | "
                 + " | ".join(_cell(*v[k]) for k in ["mean_f1"] + [f"f1_{a}" for a in names])
                 + " |")
  seeds = summary.get("num_seeds")
  note = (f" Cells: mean ± sample std (ddof={summary['std_ddof']}) over {seeds} seeds."
          if seeds else "")
  oracle = (" " + tables.ORACLE_NOTE) if mark else ""
  return "\n".join(lines) + "\n\n" + LEGEND + note + oracle + "\n"


def format_csv(summary: dict) -> str:
  """CSV table: aggregation, dataset, n, mean_f1 (+ std), f1_<AU> (+ std)."""
  keys = ["mean_f1"] + [f"f1_{a}" for a in summary["au_names"]]
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(["aggregation", "dataset", "n"] + [c for k in keys for c in (k, f"{k} std")])
  for r in result_rows(summary):
    cells = []
    for k in keys:
      mean, std = r["values"][k]
      cells += ["n/a" if mean is None else f"{mean:.4f}", "" if std is None else f"{std:.4f}"]
    writer.writerow([r["aggregation"], r["dataset"], r["n"]] + cells)
  return out.getvalue()


def format_report(summary: dict, title: str = "") -> str:
  """Header line and the results table of an AU run."""
  seeds = summary.get("num_seeds")
  head = (f"{title + ': ' if title else ''}AU detection, {summary['num_predictions']} "
          f"predictions, {summary['num_folds']} folds, {len(summary['au_names'])} AUs"
          + (f", {seeds} seeds" if seeds else ""))
  return head + "\n\n" + format_markdown(summary)

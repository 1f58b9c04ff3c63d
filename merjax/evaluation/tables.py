"""Render a `summarize` result as Markdown or CSV tables.

One row per aggregation x dataset ("pooled" then "fold-mean"; dataset "all"
then each dataset). With several seeds a cell reads "mean ± std". A run whose
epoch was selected on its test subjects (train.selection.rule=oracle) is
labelled ORACLE in every row of its table and in the legend.
"""

from __future__ import annotations

import csv
import io

DEFAULT_METRICS = ("acc", "uf1", "uar", "war")
METRIC_LABELS = {"acc": "Acc", "uf1": "UF1", "uar": "UAR", "war": "WAR",
                 "wf1": "WF1", "macro_precision": "MacroP"}
AGGREGATIONS = (("pooled", "pooled"), ("fold_mean", "fold-mean"))
LEGEND = (
    "pooled = per-class TP/FP/FN summed over all folds, then the metric "
    "(MEGC2019 protocol); fold-mean = metric within each fold, averaged over "
    "folds. UAR = mean per-class recall (not macro-precision); WAR = Acc.")
ORACLE = "ORACLE"
ORACLE_NOTE = (
    "ORACLE = the epoch was chosen by the test subjects' accuracy "
    "(train.selection.rule=oracle): a reference, not a result.")


def is_oracle(summary: dict | None) -> bool:
  """True for the metrics of a run that selected its epoch on the test subjects."""
  return bool(summary) and bool(summary.get("oracle") or summary.get("selection") == "oracle")


def oracle_mark(summary: dict | None) -> str:
  """" [ORACLE]" for an oracle-selected run's metrics, else ""."""
  return f" [{ORACLE}]" if is_oracle(summary) else ""


def result_rows(summary: dict, metrics=DEFAULT_METRICS) -> list[dict]:
  """Rows {aggregation, dataset, n, values: {metric: (mean, std | None)}}."""
  parts = [("all", summary)] + list(summary.get("per_dataset", {}).items())
  rows = []
  for key, label in AGGREGATIONS:
    for dataset, part in parts:
      std = part.get(f"{key}_std") or {}
      rows.append({
          "aggregation": label, "dataset": dataset,
          "n": part["num_predictions"],
          "values": {m: (part[key][m], std.get(m)) for m in metrics}})
  return rows


def _cell(mean, std, digits: int) -> str:
  if mean is None:
    return "n/a"
  if std is None:
    return f"{mean:.{digits}f}"
  return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _seed_note(summary: dict) -> str:
  n = summary.get("num_seeds")
  if not n:
    return ""
  return (f" Cells: mean ± sample std (ddof={summary['std_ddof']}) over {n} "
          "seeds; N counts the predictions of all seeds.")


def format_markdown(summary: dict, metrics=DEFAULT_METRICS,
                    digits: int = 4) -> str:
  """Markdown results table with a legend naming both aggregations."""
  head = ["Aggregation", "Dataset", "N"] + [METRIC_LABELS[m] for m in metrics]
  lines = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---"] * 3 + ["---:"] * len(metrics)) + "|"]
  mark = oracle_mark(summary)
  for r in result_rows(summary, metrics):
    cells = [r["aggregation"] + mark, r["dataset"], str(r["n"])] + [
        _cell(*r["values"][m], digits) for m in metrics]
    lines.append("| " + " | ".join(cells) + " |")
  note = (" " + ORACLE_NOTE) if mark else ""
  return "\n".join(lines) + "\n\n" + LEGEND + _seed_note(summary) + note + "\n"


def format_csv(summary: dict, metrics=DEFAULT_METRICS, digits: int = 4,
               split_std: bool = False) -> str:
  """CSV results table; split_std puts std in its own `<Metric> std` column."""
  head = ["aggregation", "dataset", "n"]
  for m in metrics:
    head += [METRIC_LABELS[m]] + ([f"{METRIC_LABELS[m]} std"] * split_std)
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(head)
  for r in result_rows(summary, metrics):
    row = [r["aggregation"], r["dataset"], r["n"]]
    for m in metrics:
      mean, std = r["values"][m]
      if split_std:
        row += [_cell(mean, None, digits),
                "" if std is None else _cell(std, None, digits)]
      else:
        row.append(_cell(mean, std, digits))
    writer.writerow(row)
  return out.getvalue()


def format_per_class(summary: dict, digits: int = 4) -> str:
  """Markdown per-class table and confusion matrix of the pooled metrics.

  Needs a single-seed summary (pooled holds per_class); else returns "".
  """
  pooled = summary.get("pooled", {})
  if "per_class" not in pooled:
    return ""
  names = summary.get("class_names") or [
      str(k) for k in range(len(pooled["per_class"]))]
  lines = ["| Class | Support | Predicted | Precision | Recall | F1 |",
           "|---|---:|---:|---:|---:|---:|"]
  for name, c in zip(names, pooled["per_class"]):
    vals = [_cell(c[k], None, digits) for k in ("precision", "recall", "f1")]
    lines.append(f"| {name} | {c['support']} | {c['predicted']} | "
                 + " | ".join(vals) + " |")
  lines += ["", "Pooled confusion (rows true, columns predicted):", "",
            "| true \\ pred | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names)]
  for name, row in zip(names, pooled["confusion"]):
    lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
  return "\n".join(lines) + "\n"


def format_report(summary: dict, title: str = "") -> str:
  """Header line, results table and (single seed) per-class tables."""
  seeds = summary.get("num_seeds")
  head = (f"{title + ': ' if title else ''}{summary['num_predictions']} "
          f"predictions, {summary['num_folds']} folds, "
          f"{summary['num_classes']} classes"
          + (f" ({', '.join(summary['class_names'])})"
             if summary.get("class_names") else "")
          + (f", {seeds} seeds" if seeds else ""))
  parts = [head, "", format_markdown(summary, DEFAULT_METRICS
                                     + ("wf1", "macro_precision"))]
  per_class = format_per_class(summary)
  if per_class:
    parts += ["Pooled per class:", "", per_class]
  return "\n".join(parts)

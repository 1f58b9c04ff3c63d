"""Recompute all metrics from a predictions CSV or a run directory.

  python -m experiments.score FILE.csv|RUN_DIR [--classes a,b,c] [--json]
  python -m experiments.score --format FORMAT LOG   # a peer's own log (merjax.evaluation.peer_logs)

Columns: subject,label,pred (+ optional dataset, clip, fold, seed, logit_<class>);
labels as class names or integers. No fold column: fold = subject (LOSO).

The class list every label and pred must belong to: `--classes`, else the
file's `logit_<class>` columns (a run's predictions.csv), else a run
directory's metrics.json. Without one, integers are codes and the class set is
the sorted names found, refusing what would silently become an extra class (a
`nan`, an integer among names, `Happiness` beside `happiness`, a one-letter
typo). Repeated (dataset, subject, clip, seed, fold) rows are refused. An AU run's file
(true_<AU> columns, data.task=au) is scored by per-AU F1 instead (docs/au.md). Bad
input prints one line `error: FILE...: reason` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, au_metrics, peer_logs, tables


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="python -m experiments.score",
      description="Recompute Acc/UF1/UAR/WAR (pooled and fold-mean) from a "
                  "predictions CSV or a run directory.")
  p.add_argument("file", help="CSV with columns subject,label,pred "
                              "[,dataset,clip,fold,seed], or a run directory")
  p.add_argument("--classes", default=None,
                 help="comma-separated class list, in code order (checked against "
                      "every label and pred)")
  p.add_argument("--json", action="store_true",
                 help="print the metrics.json structure instead of tables")
  p.add_argument("--format", default="csv", choices=("csv",) + tuple(peer_logs.FORMATS),
                 help="csv: a predictions CSV or run directory (default); else a published "
                      "code base's own log (docs/metrics.md, \"Peers' logs\")")
  return p


def _class_list(classes: str | None) -> list[str] | None:
  """--classes as a list of distinct names (None stays None)."""
  if classes is None:
    return None
  names = [c.strip() for c in classes.split(",")]
  if not all(names) or len(set(names)) != len(names):
    raise MerjaxError(f"--classes '{classes}': give distinct, non-empty class names")
  return names


def score_log(target: str, fmt: str, classes: str | None = None) -> dict:
  """The metrics.json structure of a peer's log, scored like a predictions CSV, with the
  selection rule its format reveals (selection, oracle, source)."""
  preds, source = peer_logs.read_peer_log(target, fmt, _class_list(classes))
  return {**aggregate.summarize_predictions(preds), **peer_logs.selection_keys(source)}


def resolve(target: str, classes: str | None) -> tuple[str, list[str] | None]:
  """(predictions CSV path, class list or None) of a file or run directory."""
  names = _class_list(classes)
  if not os.path.isdir(target):
    return target, names
  path = os.path.join(target, "predictions.csv")
  if not os.path.isfile(path):
    raise MerjaxError(f"{target}: no predictions.csv (a sweep: score one combo_NNN/ folder)")
  metrics = os.path.join(target, "metrics.json")
  if names is None and os.path.isfile(metrics):
    try:
      with open(metrics) as f:
        names = json.load(f).get("class_names")
    except (OSError, ValueError) as e:
      raise MerjaxError(f"{metrics}: not readable JSON ({type(e).__name__})") from None
  return path, names


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  try:
    if args.format != "csv":
      summary = score_log(args.file, args.format, args.classes)
    else:
      path, names = resolve(args.file, args.classes)
      if au_metrics.is_au_file(path):      # true_<AU> columns: an AU run (docs/au.md)
        summary = au_metrics.summarize_predictions(au_metrics.read_predictions(path))
      else:
        summary = aggregate.summarize_predictions(aggregate.read_predictions_csv(path, names))
  except MerjaxError as e:
    msg = str(e).replace("\n", " ")
    if not msg.startswith((args.file, "--classes")):
      msg = f"{args.file}: {msg}"
    print(f"error: {msg}", file=sys.stderr)
    return 2
  if args.json:
    print(json.dumps(summary, indent=2, allow_nan=False))
  else:
    report = au_metrics.format_report if summary.get("task") == "au" else tables.format_report
    print(report(summary, title=args.file), end="")
    if "source" in summary:
      src = summary["source"]
      print(f"\nSelection ({src['format']} log): {src['selection']}"
            f"{' [ORACLE]' if summary['oracle'] else ''}: {src['selection_evidence']}.")
  return 0


if __name__ == "__main__":
  sys.exit(main())

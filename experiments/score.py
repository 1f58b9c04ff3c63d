"""Recompute all metrics from a predictions CSV or a run directory.

  python -m experiments.score FILE.csv|RUN_DIR [--classes a,b,c] [--json]

Columns: subject,label,pred (+ optional dataset, clip, fold, seed, logit_<class>);
labels as class names or integers. No fold column: fold = subject (LOSO).

The class list every label and pred must belong to: `--classes`, else the
file's `logit_<class>` columns (a run's predictions.csv), else a run
directory's metrics.json. Without one, integers are codes and the class set is
the sorted names found, refusing what would silently become an extra class (a
`nan`, an integer among names, `Happiness` beside `happiness`, a one-letter
typo). Repeated (dataset, subject, clip, seed, fold) rows are refused. Bad
input prints one line `error: FILE...: reason` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, tables


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
  return p


def resolve(target: str, classes: str | None) -> tuple[str, list[str] | None]:
  """(predictions CSV path, class list or None) of a file or run directory."""
  names = None
  if classes is not None:
    names = [c.strip() for c in classes.split(",")]
    if not all(names) or len(set(names)) != len(names):
      raise MerjaxError(f"--classes '{classes}': give distinct, non-empty class names")
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
    path, names = resolve(args.file, args.classes)
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
    print(tables.format_report(summary, title=args.file), end="")
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""Recompute all metrics from a predictions CSV.

  python -m experiments.score FILE.csv [--json]

Columns: subject,label,pred (+ optional dataset, fold, seed); labels as class
names or integers. No fold column: fold = subject (LOSO). Bad input prints
one line `FILE: ...` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, tables


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="python -m experiments.score",
      description="Recompute Acc/UF1/UAR/WAR (pooled and fold-mean) from a "
                  "predictions CSV.")
  p.add_argument("file", help="CSV with columns subject,label,pred "
                              "[,dataset,fold,seed]")
  p.add_argument("--json", action="store_true",
                 help="print the metrics.json structure instead of tables")
  return p


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  try:
    summary = aggregate.summarize_predictions(
        aggregate.read_predictions_csv(args.file))
  except MerjaxError as e:
    msg = str(e).replace("\n", " ")
    if not msg.startswith(args.file):
      msg = f"{args.file}: {msg}"
    print(msg, file=sys.stderr)
    return 2
  if args.json:
    print(json.dumps(summary, indent=2, allow_nan=False))
  else:
    print(tables.format_report(summary, title=args.file), end="")
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""Paired comparison of two runs on the same folds and clips.

  python -m experiments.compare RUN_A RUN_B [--json] [--n-boot 2000] [--seed 0]
                                [--confidence 0.95]

RUN is a run directory (its predictions.csv) or a predictions CSV. Prints the
pooled UF1/UAR/Acc of both runs with the paired subject-bootstrap CI of A - B,
and Wilcoxon signed-rank and paired t-tests over per-subject Acc/UF1/UAR
(docs/statistics.md). Runs that do not hold the same folds/clips, or bad input,
print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from merjax import cli
from merjax.evaluation import stats


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="python -m experiments.compare",
      description="Paired comparison of two runs (same folds and clips).")
  p.add_argument("run_a", help="run directory or predictions CSV (A)")
  p.add_argument("run_b", help="run directory or predictions CSV (B)")
  p.add_argument("--json", action="store_true", help="print the result as JSON")
  p.add_argument("--n-boot", type=int, default=stats.DEFAULT_N_BOOT,
                 help="bootstrap resamples of the subjects (default %(default)s)")
  p.add_argument("--seed", type=int, default=0,
                 help="seed of the bootstrap's numpy Generator (default %(default)s)")
  p.add_argument("--confidence", type=float, default=stats.DEFAULT_CONFIDENCE,
                 help="CI level (default %(default)s)")
  return p


def _finite(obj):
  """NaN / inf -> None, so the JSON is strict."""
  if isinstance(obj, float) and not math.isfinite(obj):
    return None
  if isinstance(obj, dict):
    return {k: _finite(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [_finite(v) for v in obj]
  return obj


def main(argv=None) -> int:
  args = _parser().parse_args(argv)

  def body():
    result = stats.compare_runs(stats.load_run(args.run_a), stats.load_run(args.run_b),
                                n_boot=args.n_boot, confidence=args.confidence,
                                seed=args.seed)
    if args.json:
      print(json.dumps(_finite(result), indent=2, allow_nan=False))
    else:
      print(stats.format_comparison(result), end="")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())

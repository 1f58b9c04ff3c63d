"""Figures of a run directory.

  python -m experiments.plots --workdir DIR [--out OUT] [--n-boot 2000] [--seed 0]

Writes PNGs (matplotlib, Agg) into OUT (default DIR/figures): confusion.png
(pooled, counts and row-normalised), subject_accuracy.png (with clip counts),
loss.png (per-epoch training loss from history.json), seed_metrics.png (pooled
UF1/UAR per seed, with several seeds) and, only if history.json records
per-epoch test metrics, diagnostic_test_metrics.png. Prints the paths written.
Bad input prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from merjax import cli
from merjax.evaluation import plots


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="python -m experiments.plots",
                              description="Write the figures of a run directory.")
  p.add_argument("--workdir", required=True, help="run directory (predictions.csv, ...)")
  p.add_argument("--out", default=None, help="output folder (default WORKDIR/figures)")
  p.add_argument("--n-boot", type=int, default=2000,
                 help="bootstrap resamples for the seed CI (default %(default)s)")
  p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default %(default)s)")
  return p


def main(argv=None) -> int:
  args = _parser().parse_args(argv)

  def body():
    paths = plots.plot_run(args.workdir, args.out, n_boot=args.n_boot, seed=args.seed)
    print("\n".join(paths))
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())

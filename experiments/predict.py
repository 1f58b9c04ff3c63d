"""Predict new clips with a finished run's fold models.

  python -m experiments.predict --workdir RUN --dataset NAME [--out FILE]
      [--combo N] [data.key=value ...]

Every (seed, fold) model saved in RUN/checkpoints/final predicts every clip of
the dataset, with the run's inputs and preprocessing. The CSV has a run's
predictions.csv columns (fold and seed name the model); default
RUN/predict-<dataset>/predictions.csv. In a sweep directory pass --combo.
"""

from __future__ import annotations

import argparse
import sys

from merjax import predict
from merjax.errors import MerjaxError


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--dataset", required=True)
  parser.add_argument("--out", default=None)
  parser.add_argument("--combo", type=int, default=None)
  parser.add_argument("overrides", nargs="*", help="data.key=value (e.g. data.root=...)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    path = predict.predict_clips(args.workdir, args.dataset, args.overrides, args.out,
                                 args.combo, log=lambda s: print(s, file=sys.stderr))
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"predictions: {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

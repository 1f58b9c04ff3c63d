"""Predict new clips with a finished run's fold models.

  python -m experiments.predict --workdir RUN --dataset NAME [--out FILE]
      [--combo N] [data.root=DIR] [data.manifest=FILE] [data.options.KEY=VALUE ...]

Every (seed, fold) model saved in RUN/checkpoints/final predicts every clip of
the dataset, with the run's inputs, preprocessing and scaling (only where the
clips are and which of them may change). The CSV has a run's predictions.csv
columns (fold and seed name the model); default RUN/predict-<dataset>/
predictions.csv, or predict-<dataset>-2/, -3/, ... when that exists. In a
sweep directory pass --combo.
"""

from __future__ import annotations

import argparse
import sys

from merjax import cli, predict


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--dataset", required=True)
  parser.add_argument("--out", default=None, help="a new CSV path (an existing file is refused)")
  parser.add_argument("--combo", type=int, default=None)
  parser.add_argument("overrides", nargs="*", help="data.root=..., data.manifest=..., "
                      "data.options.KEY=...")
  args = cli.parse(parser, argv)

  def body():
    path = predict.predict_clips(args.workdir, args.dataset, args.overrides, args.out,
                                 args.combo, log=cli.log)
    print(f"predictions: {path}")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())

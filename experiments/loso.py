"""Train every LOSO fold (x seeds) of a model on a dataset and write a run directory.

  python -m experiments.loso --model ststnet --dataset synthetic [--workdir DIR]
      [--seeds N] [--restart] [--quick] [key=value ...]

Run it again with the same --workdir (and the same config) after an
interruption and it resumes: finished fold groups are kept, the group in
flight restarts from its last checkpoint (train.checkpoint_every epochs).

Trailing key=value pairs override dotted config paths, e.g. train.epochs=5
data.manifest=/path/m.csv data.modality=apex. --quick first applies the model
config's QUICK overrides (a minutes-long CPU configuration, where one exists).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from merjax import config as config_lib
from merjax import experiment
from merjax.errors import MerjaxError


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True)
  parser.add_argument("--dataset", default="synthetic")
  parser.add_argument("--workdir", default=None,
                      help="run directory (default runs/<model>-<dataset>-<time>)")
  parser.add_argument("--seeds", type=int, default=None)
  parser.add_argument("--restart", action="store_true",
                      help="discard what --workdir holds instead of resuming it")
  parser.add_argument("--quick", action="store_true",
                      help="apply the config's QUICK overrides first (minutes on a CPU)")
  parser.add_argument("overrides", nargs="*", help="dotted key=value overrides")
  return parser.parse_args(argv)


def resolve_config(args) -> dict:
  config = config_lib.load_config(args.model)
  config["data"]["dataset"] = args.dataset
  if args.quick:
    config = config_lib.apply_overrides(config, config_lib.quick_overrides(args.model))
  config = config_lib.apply_overrides(config, args.overrides)
  if args.seeds is not None:
    config["train"]["seeds"] = args.seeds
  return config


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    config = resolve_config(args)
    workdir = args.workdir or os.path.join(
        "runs", f"{args.model}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    experiment.run(config, workdir, restart=args.restart)
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  with open(os.path.join(workdir, "results.md")) as f:
    print(f.read())
  print(f"run directory: {workdir}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

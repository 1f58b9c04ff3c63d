"""Train every combination of a hyperparameter grid x seeds x LOSO folds and
print the sweep table (mean ± std over seeds per combination).

  python -m experiments.sweep --model ststnet --dataset synthetic --seeds 3 \\
      grid.train.lr=1e-3,3e-4 grid.train.weight_decay=0,1e-4 [--select nested]
      [--inner-folds K] [--workdir DIR] [--restart] [--quick] [key=value ...]

grid.<key>=v1,v2,... lists a key's values (comma-separated scalars; train.lr
and train.weight_decay are short for train.optimizer.*). Numeric keys that
change no shape are traced per member and share one compiled program; the
output says how many programs were compiled. --select nested chooses a
combination per outer fold by inner LOSO over its training subjects; the
best combination by test score is printed only under the label ORACLE.
Rerun with the same --workdir to resume an interrupted sweep.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from experiments import loso
from merjax import sweep as sweep_lib
from merjax.errors import MerjaxError


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True)
  parser.add_argument("--dataset", default="synthetic")
  parser.add_argument("--workdir", default=None)
  parser.add_argument("--seeds", type=int, default=None)
  parser.add_argument("--select", choices=("none", "nested"), default="none")
  parser.add_argument("--inner-folds", type=int, default=0,
                      help="nested: 0 = leave one training subject out, k = k subject groups")
  parser.add_argument("--restart", action="store_true",
                      help="discard what --workdir holds instead of resuming it")
  parser.add_argument("--quick", action="store_true",
                      help="apply the config's QUICK overrides first (minutes on a CPU)")
  parser.add_argument("overrides", nargs="*", help="grid.<key>=v1,v2 and key=value overrides")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  workdir = args.workdir or os.path.join(
      "runs", f"sweep-{args.model}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
  try:
    grid = sweep_lib.parse_grid([o for o in args.overrides if o.startswith("grid.")])
    args.overrides = [o for o in args.overrides if not o.startswith("grid.")]
    config = loso.resolve_config(args)
    config["sweep"] = {**sweep_lib.SWEEP_DEFAULTS, "grid": grid, "select": args.select,
                       "inner_folds": args.inner_folds}
    summary = sweep_lib.run_sweep(config, workdir, restart=args.restart)
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  with open(os.path.join(workdir, "sweep.md")) as f:
    print(f.read())
  print(f"compiled programs: {summary['programs']}")
  print(f"sweep directory: {workdir}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""Train every combination of a hyperparameter grid x seeds x LOSO folds and
print the sweep table (mean ± std over seeds per combination).

  python -m experiments.sweep --model ststnet --dataset synthetic --seeds 3 \\
      grid.train.lr=1e-3,3e-4 grid.train.weight_decay=0,1e-4 [--select nested]
      [--inner-folds K] [--workdir DIR] [--restart] [--force] [--allow-failed]
      [--quick] [key=value ...]

grid.<key>=v1,v2,... lists a key's values (comma-separated scalars; train.lr
and train.weight_decay are short for train.optimizer.*). Numeric keys that
change no shape are traced per member and share one compiled program; the
output says how many programs were compiled. --select nested chooses a
combination per outer fold by inner LOSO over its training subjects; the
best combination by test score is printed only under the label ORACLE.
Rerun with the same --workdir to resume an interrupted sweep. Exit status as
experiments.loso.
"""

from __future__ import annotations

import os
import sys

from experiments import loso
from merjax import cli, distributed
from merjax import config as config_lib
from merjax import sweep as sweep_lib


def main(argv=None) -> int:
  parser = loso.parser()
  parser.description = __doc__.split("\n")[0]
  parser.add_argument("--select", choices=("none", "nested"), default="none")
  parser.add_argument("--inner-folds", type=int, default=0,
                      help="nested: 0 = leave one training subject out, k = k subject groups")
  args = cli.parse(parser, argv)
  workdir = args.workdir or loso.default_workdir(f"sweep-{args.model}-{args.dataset}")

  def body():
    distributed.initialize_from_args(args)
    grid = sweep_lib.parse_grid([o for o in args.overrides if o.startswith("grid.")])
    overrides = [o for o in args.overrides if not o.startswith("grid.")]
    config = config_lib.resolve(
        args.model, args.dataset, overrides, quick=args.quick, seeds=args.seeds,
        sweep={"grid": grid, "select": args.select, "inner_folds": args.inner_folds})
    summary = sweep_lib.run_sweep(config, workdir, log=cli.log, restart=args.restart,
                                  force=args.force)
    if distributed.is_main():
      with open(os.path.join(workdir, "sweep.md")) as f:
        print(f.read())
      print(f"compiled programs: {summary['programs']}")
      print(f"sweep directory: {workdir}")
    failed = [f for row in summary["rows"] for f in row["failed"]]
    if failed and not args.allow_failed:
      return cli.FAILED_MEMBERS
    return cli.OK

  return cli.guarded(body, f"rerun the same command with --workdir {workdir} to resume")


if __name__ == "__main__":
  sys.exit(main())

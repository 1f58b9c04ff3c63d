"""Train every LOSO fold (x seeds) of a model on a dataset and write a run directory.

  python -m experiments.loso --model ststnet --dataset synthetic [--workdir DIR]
      [--task classification|au] [--seeds N] [--restart] [--force] [--allow-failed]
      [--quick] [key=value ...]

Run it again with the same --workdir (and the same config) after an
interruption and it resumes: finished fold groups are kept, the group in
flight restarts from its last checkpoint (train.checkpoint_every epochs).

Multi-process / multi-host: --distributed (SLURM, Open MPI, Cloud TPU, Kubernetes)
or --coordinator HOST:PORT --num-processes N --process-id I, on every process, with
one shared --workdir (docs/scaling.md); exit status 4 when a process died.

Trailing key=value pairs override dotted config paths (merjax/configs/schema.py
lists every key), e.g. train.epochs=5 data.manifest=/path/m.csv
data.modality=apex. --quick first applies the model config's QUICK overrides
(a minutes-long CPU configuration, where one exists). Exit status: 0 done,
2 bad input, 3 some members failed (unless --allow-failed), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from merjax import cli, distributed, experiment
from merjax import config as config_lib


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", required=True)
  p.add_argument("--dataset", default="synthetic")
  p.add_argument("--workdir", default=None,
                 help="run directory (default runs/<model>-<dataset>-<time>)")
  p.add_argument("--seeds", type=int, default=None)
  p.add_argument("--restart", action="store_true",
                 help="discard what --workdir holds instead of resuming it")
  p.add_argument("--force", action="store_true",
                 help="use a non-empty folder that is not a run directory; break a stale lock")
  p.add_argument("--allow-failed", action="store_true",
                 help="exit 0 even when some members' loss turned non-finite")
  p.add_argument("--quick", action="store_true",
                 help="apply the config's QUICK overrides first (minutes on a CPU)")
  p.add_argument("--task", choices=("classification", "au"), default=None,
                 help="au: multi-label action units (data.task=au with the sigmoid_bce loss; "
                      "docs/au.md)")
  p.add_argument("overrides", nargs="*", help="dotted key=value overrides")
  distributed.add_arguments(p)
  return p


def task_overrides(task: str | None) -> list[str]:
  """The overrides --task stands for (applied before the command line's own)."""
  if task == "au":
    return ["data.task=au", 'train.loss={"name": "sigmoid_bce"}']
  if task == "classification":
    return ["data.task=classification"]
  return []


def default_workdir(stem: str) -> str:
  return os.path.join("runs", f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def failed_status(metrics: dict, allow_failed: bool) -> int:
  """cli.FAILED_MEMBERS when members failed (printed), unless allowed."""
  if not metrics["failed_folds"]:
    return cli.OK
  print(f"FAILED members ({len(metrics['failed_folds'])}, not scored): "
        + "; ".join(metrics["failed_folds"]), file=sys.stderr)
  return cli.OK if allow_failed else cli.FAILED_MEMBERS


def main(argv=None) -> int:
  args = cli.parse(parser(), argv)
  workdir = args.workdir or default_workdir(f"{args.model}-{args.dataset}")

  def body():
    distributed.initialize_from_args(args)
    config = config_lib.resolve(args.model, args.dataset, task_overrides(args.task)
                                + list(args.overrides), quick=args.quick, seeds=args.seeds)
    metrics = experiment.run(config, workdir, log=cli.log, restart=args.restart,
                             force=args.force)
    if distributed.is_main():
      with open(os.path.join(workdir, "results.md")) as f:
        print(f.read())
      print(f"run directory: {workdir}")
    return failed_status(metrics, args.allow_failed)

  return cli.guarded(body, f"rerun the same command with --workdir {workdir} to resume")


if __name__ == "__main__":
  sys.exit(main())

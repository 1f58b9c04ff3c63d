"""Run every row of a paper's table and print ours beside the paper's numbers.

  python -m experiments.table --paper mesti --table 5 [--dataset NAME]
      [--workdir DIR] [--tiny] [key=value ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from merjax import cli, paper_tables


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--paper", required=True)
  parser.add_argument("--table", required=True)
  parser.add_argument("--dataset", default=None)
  parser.add_argument("--workdir", default=None)
  parser.add_argument("--tiny", action="store_true", help="seconds-long smoke configuration")
  parser.add_argument("overrides", nargs="*")
  args = cli.parse(parser, argv)
  workdir = args.workdir or os.path.join(
      "runs", f"{args.paper}-table{args.table}-{time.strftime('%Y%m%d-%H%M%S')}")

  def body():
    module = paper_tables.load_table(args.paper, args.table)
    text = paper_tables.run_table(module, workdir, args.dataset, args.overrides, args.tiny,
                                  log=cli.log)
    print(text)
    print(f"run directory: {workdir}")
    return cli.OK

  return cli.guarded(body, f"rerun the same command with --workdir {workdir} to resume")


if __name__ == "__main__":
  sys.exit(main())

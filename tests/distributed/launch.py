"""Helper for test_multiprocess: one process of a (one- or multi-process) run.

  python launch.py JSON

JSON: {"runs": [[module, [args...]], ...], "coordinator": "127.0.0.1:PORT" | null,
"num_processes": N, "process_id": I}. Each run calls `experiments.<module>.main(args)`
in this one process (the distributed runtime is joined once, by the first); the
exit status is the first non-zero one."""

import json
import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

jax.config.update("jax_threefry_partitionable", False)   # the test suite's setting


def main(spec: dict) -> int:
  import importlib  # pylint: disable=import-outside-toplevel
  flags = []
  if spec.get("coordinator"):
    flags = ["--coordinator", spec["coordinator"], "--num-processes",
             str(spec["num_processes"]), "--process-id", str(spec["process_id"])]
  for module, args in spec["runs"]:
    status = importlib.import_module(f"experiments.{module}").main(list(args) + flags)
    if status:
      return status
  return 0


if __name__ == "__main__":
  sys.exit(main(json.loads(sys.argv[1])))

"""Print a model's parameter count (PyTorch convention), input and output shapes.

  python -m experiments.describe --model NAME [key=value ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from merjax import config as config_lib
from merjax.errors import MerjaxError
from merjax.models import summary
from merjax.models.registry import build_model


def describe_config(config: dict, num_classes: int | None = None) -> dict:
  """{"model", "params", "inputs", "outputs"} for the config's model."""
  model_cfg = config["model"]
  num_classes = num_classes or int(config.get("num_classes", 5))
  shapes = {r: (1,) + tuple(s) for r, s in model_cfg["input_shapes"].items()}
  info = summary.describe(build_model(model_cfg, num_classes), shapes)
  return {"model": model_cfg["name"], "num_classes": num_classes, **info}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True)
  parser.add_argument("--num-classes", type=int, default=None)
  parser.add_argument("--json", action="store_true")
  parser.add_argument("overrides", nargs="*")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    config = config_lib.apply_overrides(config_lib.load_config(args.model), args.overrides)
    info = describe_config(config, args.num_classes)
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if args.json:
    print(json.dumps(info, indent=2))
  else:
    print(f"model   {info['model']} ({info['num_classes']} classes)")
    print(f"params  {info['params']:,}")
    for k, s in info["inputs"].items():
      print(f"input   {k}: {s}")
    for k, s in info["outputs"].items():
      print(f"output  {k}: {s}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

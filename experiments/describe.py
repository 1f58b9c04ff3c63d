"""Print a model's parameter count (PyTorch convention), input and output shapes.

  python -m experiments.describe --model NAME [--dataset NAME] [--num-classes K] [key=value ...] [--json]

The class count is --num-classes, else that of the config's label protocol: data.protocol, else
the dataset's default protocol (merjax/data/labels.py; --dataset sets data.dataset), else for
the synthetic dataset data.synthetic.num_classes. The input shapes follow from data.inputs and
data.preprocess (merjax.models.inputs).
"""

from __future__ import annotations

import argparse
import json
import sys

from merjax import config as config_lib
from merjax.errors import MerjaxError
from merjax.models import inputs, summary
from merjax.models.registry import build_model


def config_num_classes(config: dict) -> int:
  """The class count a run of `config` trains on, without reading data: the classes of
  data.protocol or of the dataset's default protocol (a protocol fixed by the data, e.g.
  "dianet", is skipped), else the synthetic dataset's num_classes."""
  # pylint: disable=import-outside-toplevel
  from merjax.data import labels, synthetic
  data = config["data"]
  for name in (data.get("protocol"), labels.DEFAULT_PROTOCOL.get(data["dataset"])):
    entry = labels.PROTOCOLS.get(name) if name else None
    if entry is not None and not callable(entry):
      return len(entry.classes)
    if name and entry is None:
      raise MerjaxError(f"data.protocol: unknown label protocol {name!r}")
  if data["dataset"] == "synthetic":
    return int(synthetic.SyntheticConfig(**data.get("synthetic", {})).num_classes)
  raise MerjaxError(f"--dataset {data['dataset']}: its class count depends on the data "
                    f"(protocol {data.get('protocol')!r}); pass --num-classes")


def describe_config(config: dict, num_classes: int | None = None) -> dict:
  """{"model", "num_classes", "params", "inputs", "outputs"} for the config's model."""
  model_cfg = config["model"]
  num_classes = num_classes or config_num_classes(config)
  info = summary.describe(build_model(model_cfg, num_classes), inputs.batch_shapes(config))
  return {"model": model_cfg["name"], "num_classes": num_classes, **info}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True)
  parser.add_argument("--dataset", default=None, help="sets data.dataset (its default protocol)")
  parser.add_argument("--num-classes", type=int, default=None)
  parser.add_argument("--json", action="store_true")
  parser.add_argument("overrides", nargs="*")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    config = config_lib.load_config(args.model)
    if args.dataset:
      config["data"]["dataset"] = args.dataset
    config = config_lib.apply_overrides(config, args.overrides)
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

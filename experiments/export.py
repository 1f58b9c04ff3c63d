"""Export the fold models of a finished run as torch-compatible safetensors.

  python -m experiments.export --workdir RUN --out DIR [--format torchvision|timm|reference]

Every saved (seed, fold) model of RUN (checkpoints/final, the variables its selection rule
predicts with) is written as DIR/<fold>_seed<S>.safetensors in torch names and layouts of
the format (default: the model's own), so `module.load_state_dict(
safetensors.torch.load_file(path))` loads it (docs/weights.md).
Exit status: 0 done, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from merjax import cli
from merjax.models.weights import export


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--workdir", required=True, help="a finished run directory")
  p.add_argument("--out", required=True, help="output folder")
  p.add_argument("--format", default=None,
                 help="torchvision | timm | reference | merjax (default: the model's own)")
  return p


def main(argv=None) -> int:
  args = cli.parse(parser(), argv)

  def body():
    for path in export.export_run(args.workdir, args.out, args.format):
      print(path)
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())

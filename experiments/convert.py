"""Convert a torch / timm / safetensors checkpoint into merjax's own weights file.

  python -m experiments.convert --arch NAME --from FILE --to OUT.npz|OUT.safetensors \\
      --num-classes K [--format torchvision|timm|reference|merjax] [--partial] [key=value ...]

The model is NAME's config (merjax/configs, `key=value` overrides as experiments.loso takes
them, e.g. data.preprocess.size=28) with K classes (the checkpoint's: 1000 for ImageNet).
The file is read without running code from it and converted strictly (every tensor must
fit; `--partial` keeps the leaves that do not, freshly initialised, and lists them). The
output holds merjax's names in Flax layouts: train from it with
`model.pretrained=OUT model.pretrained_format=merjax` (docs/weights.md).
Exit status: 0 done, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from merjax import cli
from merjax.models.weights import export


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--arch", required=True, help="model name (merjax.models.registry.MODELS)")
  p.add_argument("--from", dest="src", required=True, help="checkpoint file")
  p.add_argument("--to", dest="dst", required=True, help="output .npz or .safetensors")
  p.add_argument("--num-classes", type=int, required=True, help="the checkpoint's classes")
  p.add_argument("--format", default=None,
                 help="torchvision | timm | reference | merjax (default: the model's own)")
  p.add_argument("--partial", action="store_true",
                 help="keep leaves the file lacks or mis-shapes freshly initialised")
  p.add_argument("overrides", nargs="*", help="dotted key=value config overrides")
  return p


def main(argv=None) -> int:
  args = cli.parse(parser(), argv)

  def body():
    _, report = export.convert_file(args.arch, args.src, args.dst, args.num_classes,
                                    args.format, args.overrides, strict=not args.partial)
    print(f"{args.dst}: {report.summary()}")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())

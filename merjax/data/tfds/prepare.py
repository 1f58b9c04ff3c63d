"""Prepares merjax TFDS datasets from a licensed copy (no TensorFlow needed).

  python -m merjax.data.tfds.prepare --dataset casme2 --manual_dir ~/data/CASME2 \\
      [--data_dir ~/tensorflow_datasets] [--config all --config casme2_5class]

Without --config every config of the dataset is prepared. A config that is
already prepared is reused. (The `tfds build` command of tensorflow-datasets
4.9 imports TensorFlow at start-up; this runs the same download_and_prepare.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from merjax.errors import MerjaxError


def prepare(name: str, manual_dir: str, data_dir: str | None = None,
            configs: Sequence | None = None) -> list[str]:
  """Builds configs (names or MerConfig; default: all) of dataset `name`; returns their folders."""
  from merjax.data.tfds.reader import import_tfds  # pylint: disable=import-outside-toplevel
  tfds = import_tfds()
  from merjax.data.tfds import builders  # pylint: disable=import-outside-toplevel
  cls = builders.builder_class(name)
  manual_dir = os.path.expanduser(manual_dir)
  if not os.path.isdir(manual_dir) or not os.listdir(manual_dir):
    raise MerjaxError(f"{manual_dir}: manual_dir missing or empty; "
                      f"it must hold your {cls.TITLE} copy")
  known = [c.name for c in cls.BUILDER_CONFIGS]
  configs = list(configs) if configs else known
  for config in configs:
    if isinstance(config, str) and config not in known:
      raise MerjaxError(f"{name}: unknown config '{config}'; known: {', '.join(known)}")
  download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  out = []
  for config in configs:
    builder = cls(config=config, data_dir=os.path.expanduser(data_dir) if data_dir else None)
    builder.download_and_prepare(download_config=download_config)
    out.append(os.fspath(builder.data_dir))
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", required=True,
                      help="casme2, samm, smic, casme_sq, casme3, mmew or megc2019")
  parser.add_argument("--manual_dir", required=True, help="folder holding your licensed copy")
  parser.add_argument("--data_dir", default=None,
                      help="TFDS data_dir (default ~/tensorflow_datasets)")
  parser.add_argument("--config", action="append", default=None,
                      help="config to prepare (repeatable; default: every config)")
  args = parser.parse_args(argv)
  try:
    for path in prepare(args.dataset, args.manual_dir, args.data_dir, args.config):
      print(path)
  except MerjaxError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())

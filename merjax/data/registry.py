"""Datasets by name: each entry is a `load(**config) -> list[Clip]` function."""

from __future__ import annotations

import importlib

from merjax.errors import MerjaxError

# name -> "module:function". Loaders import lazily so that optional readers
# (openpyxl, OpenCV) are only needed for the datasets that use them.
DATASETS = {
    "synthetic": "merjax.data.synthetic:load",
    "manifest": "merjax.data.manifest:load",
    "casme2": "merjax.data.casme2:load",
    "samm": "merjax.data.samm:load",
    "smic": "merjax.data.smic:load",
    "casme_sq": "merjax.data.casme_sq:load",
    "casme3": "merjax.data.casme3:load",
    "mmew": "merjax.data.mmew:load",
    "megc2019": "merjax.data.megc2019:load",
    "casme2_samm": "merjax.data.casme2_samm:load",
    # A prepared TFDS dataset (merjax.data.tfds): root = its folder, e.g.
    # <data_dir>/casme2/casme2_5class/1.0.0. Needs the tfds extra.
    "tfds": "merjax.data.tfds.reader:load",
}


def loader(name: str):
  """Returns the load function registered under `name`."""
  if name not in DATASETS:
    raise MerjaxError(f"unknown dataset '{name}'; known: {', '.join(sorted(DATASETS))}")
  module, function = DATASETS[name].split(":")
  return getattr(importlib.import_module(module), function)

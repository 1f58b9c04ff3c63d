"""Datasets by name: each entry is a `load(**config) -> list[Clip]` function."""

from __future__ import annotations

import importlib

from merjax.errors import MerjaxError

# name -> "module:function". Loaders import lazily so that optional readers
# (openpyxl, OpenCV) are only needed for the datasets that use them.
DATASETS = {
    "synthetic": "merjax.data.synthetic:load",
    "manifest": "merjax.data.manifest:load",
}


def loader(name: str):
  """Returns the load function registered under `name`."""
  if name not in DATASETS:
    raise MerjaxError(f"unknown dataset '{name}'; known: {', '.join(sorted(DATASETS))}")
  module, function = DATASETS[name].split(":")
  return getattr(importlib.import_module(module), function)

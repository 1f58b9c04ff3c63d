"""Datasets by name, one loader contract: `load(root, protocol=None, **options) -> list[Clip]`.

  synthetic   root ignored (None); options = SyntheticConfig overrides (data.synthetic)
  manifest    root = the manifest CSV (data.manifest)
  the others  root = the dataset copy (data.root); options = the loader's OPTIONS
              (data.options), plus `problems` / `collect_errors` (sheets.Report)

An unknown option is a MerjaxError naming `data.synthetic.<key>` or
`data.options.<key>` and the closest known keys. `load_clips(data_cfg)` is the
one dispatch from a config's `data` group to a loader.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from merjax.configs import schema
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
    "casme3c": "merjax.data.casme3:load_part_c",
    "mmew": "merjax.data.mmew:load",
    "casme": "merjax.data.casme:load",
    "fourdme": "merjax.data.fourdme:load",
    "megc2019": "merjax.data.megc2019:load",
    "casme2_samm": "merjax.data.casme2_samm:load",
    # Registered datasets by name in one clip list (merjax.data.composite; docs/au.md).
    "composite": "merjax.data.composite:load",
    # A prepared TFDS dataset (merjax.data.tfds): root = its folder, e.g.
    # <data_dir>/casme2/casme2_5class/1.0.0. Needs the tfds extra.
    "tfds": "merjax.data.tfds.reader:load",
}


def loader(name: str):
  """Returns the load function registered under `name`."""
  if name not in DATASETS:
    import difflib  # pylint: disable=import-outside-toplevel
    close = difflib.get_close_matches(name, list(DATASETS), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise MerjaxError(f"unknown dataset '{name}'; {hint}known: {', '.join(sorted(DATASETS))}")
  module, function = DATASETS[name].split(":")
  return getattr(importlib.import_module(module), function)


def load_clips(data_cfg: Mapping, **report) -> list:
  """The clips of `data.dataset`: synthetic from data.synthetic, manifest from
  data.manifest, any other from data.root with data.options.

  `report` (problems=, collect_errors=) goes to every loader but synthetic's,
  which has nothing to report.
  """
  data_cfg = schema.data_group(data_cfg)
  name = data_cfg["dataset"]
  load = loader(name)
  if name == "synthetic":
    return load(None, **data_cfg["synthetic"])
  options = dict(data_cfg["options"])
  if "protocol" in options:
    raise MerjaxError("data.options.protocol: set the label protocol with data.protocol")
  if name == "manifest":
    if not data_cfg["manifest"]:
      raise MerjaxError("--dataset manifest needs data.manifest=/path/to/manifest.csv")
    return load(data_cfg["manifest"], **options, **report)
  if not data_cfg["root"] and name != "composite":   # a composite's members have roots
    raise MerjaxError(f"--dataset {name} needs data.root=/path/to/{name}")
  return load(data_cfg["root"], **options, **report)


def check_options(data_cfg: Mapping) -> None:
  """Checks data.synthetic / data.options keys against the loader's without
  reading any data (the same one-line MerjaxError the loader would raise)."""
  from merjax.data import sheets  # pylint: disable=import-outside-toplevel
  data_cfg = schema.data_group(data_cfg)
  name = data_cfg["dataset"]
  loader(name)
  module = importlib.import_module(DATASETS[name].split(":")[0])
  if name == "synthetic":
    if data_cfg["options"]:
      raise MerjaxError(f"data.options.{next(iter(data_cfg['options']))}: the synthetic dataset "
                        f"takes no loader options; set data.synthetic.<key>")
    import dataclasses  # pylint: disable=import-outside-toplevel
    sheets.check_options(data_cfg["synthetic"],
                         [f.name for f in dataclasses.fields(module.SyntheticConfig)],
                         "data.synthetic")
    return
  options = dict(data_cfg["options"])
  if "protocol" in options:
    raise MerjaxError("data.options.protocol: set the label protocol with data.protocol")
  if hasattr(module, "check_composite_options"):   # merjax.data.composite
    module.check_composite_options(options)
  elif hasattr(module, "LOADERS"):        # a composite: megc2019, casme2_samm
    sheets.composite_options(options, module.LOADERS)
  else:
    sheets.check_options(options, module.OPTIONS)

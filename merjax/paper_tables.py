"""Paper tables as experiments: rows of config overrides beside the paper's numbers.

A table module `experiments/configs/<paper>_table<N>.py` defines
  TITLE: str
  BASE: the model config name every row starts from (e.g. "meganet")
  COLUMNS: metric keys printed, e.g. ("acc", "uf1", "uar")
  ROWS: list of (row name, [key=value overrides], {metric: paper value or None})
and optionally TINY: overrides that make every row run in seconds (tests).
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Sequence

from merjax import config as config_lib
from merjax import experiment
from merjax.errors import MerjaxError


def load_table(paper: str, table: str):
  name = f"experiments.configs.{paper}_table{table}"
  try:
    return importlib.import_module(name)
  except ModuleNotFoundError:
    raise MerjaxError(f"no table module {name}") from None


def row_configs(module, dataset: str | None, extra: Sequence[str] = (),
                tiny: bool = False) -> list[tuple[str, dict, dict]]:
  """(row name, resolved config, paper numbers) for every row of the table."""
  rows = []
  for name, overrides, paper in module.ROWS:
    config = config_lib.load_config(getattr(module, "BASE"))
    if dataset:
      config["data"]["dataset"] = dataset
    items = list(overrides) + (list(getattr(module, "TINY", [])) if tiny else []) + list(extra)
    rows.append((name, config_lib.apply_overrides(config, items), paper))
  return rows


def run_table(module, workdir: str, dataset: str | None = None, extra=(),
              tiny: bool = False, log=print) -> str:
  """Runs every row into workdir/<row>/ and returns the Markdown table."""
  columns = tuple(getattr(module, "COLUMNS", ("acc", "uf1", "uar")))
  lines = [f"## {module.TITLE}", "",
           "| row | " + " | ".join(f"{c.upper()} (ours, pooled) | {c.upper()} (paper)"
                                   for c in columns) + " |",
           "|---|" + "---:|---:|" * len(columns)]
  for i, (name, config, paper) in enumerate(row_configs(module, dataset, extra, tiny)):
    log(f"row {i + 1}: {name}")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    metrics = experiment.run(config, os.path.join(workdir, f"{i:02d}_{safe}"))
    cells = []
    for c in columns:
      ours = metrics["pooled"].get(c)
      theirs = paper.get(c)
      cells += ["n/a" if ours is None else f"{ours:.4f}",
                "-" if theirs is None else f"{theirs:.4f}"]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  text = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "table.md"), "w") as f:
    f.write(text)
  return text

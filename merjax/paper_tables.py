"""Paper tables as experiments: rows of config overrides beside the paper's numbers.

A table module `merjax/configs/<paper>_table<N>.py` defines
  TITLE: str
  BASE: the model config name every row starts from (e.g. "meganet")
  COLUMNS: metric keys printed, e.g. ("acc", "uf1", "uar"); "uf1" is the pooled
    score of the whole run, "smic/uf1" the pooled score of the run's predictions
    on dataset "smic" (metrics.json per_dataset; "n/a" when the run has none)
  ROWS: list of (row name, [key=value overrides], {column: paper value or None})
    with an optional 4th element, the config name this row starts from instead
    of BASE (e.g. a baseline model in a comparison table); overrides None marks
    a paper-only row (a method we do not implement): printed, never run
and optionally TINY: overrides that make every row run in seconds (tests), a
list for every row or a dict {config name: list} by the row's base config
("*": every row).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

from merjax import config as config_lib
from merjax import experiment
from merjax.errors import MerjaxError
from merjax.evaluation import tables


def load_table(paper: str, table: str):
  name = f"merjax.configs.{paper}_table{table}"
  try:
    return importlib.import_module(name)
  except ModuleNotFoundError:
    raise MerjaxError(f"no table module {name}") from None


def row_configs(module, dataset: str | None, extra: Sequence[str] = (),
                tiny: bool = False) -> list[tuple[str, dict | None, dict]]:
  """(row name, resolved config or None for a paper-only row, paper numbers)
  for every row of the table."""
  rows = []
  for row in module.ROWS:
    name, overrides, paper = row[:3]
    if overrides is None:
      rows.append((name, None, paper))
      continue
    base = row[3] if len(row) > 3 else module.BASE
    config = config_lib.load_config(base)
    if dataset:
      config["data"]["dataset"] = dataset
    items = list(overrides) + (tiny_overrides(module, base) if tiny else []) + list(extra)
    rows.append((name, config_lib.apply_overrides(config, items), paper))
  return rows


def tiny_overrides(module, base: str) -> list[str]:
  """The module's TINY overrides for a row starting from config `base`."""
  tiny = getattr(module, "TINY", [])
  if isinstance(tiny, dict):
    return list(tiny.get("*", [])) + list(tiny.get(base, []))
  return list(tiny)


def metric_of(metrics: dict, column: str):
  """metrics["pooled"][column], or for "dataset/metric" that dataset's pooled
  value (None when the run has no such dataset or metric)."""
  if "/" not in column:
    return metrics["pooled"].get(column)
  dataset, metric = column.rsplit("/", 1)
  return metrics.get("per_dataset", {}).get(dataset, {}).get("pooled", {}).get(metric)


def run_table(module, workdir: str, dataset: str | None = None, extra=(),
              tiny: bool = False, log=print) -> str:
  """Runs every row into workdir/<row>/ and returns the Markdown table. A row that ran
  with oracle selection (train.selection.rule=oracle) reads "<row> [ORACLE]", and a note
  under the table says what that means."""
  columns = tuple(getattr(module, "COLUMNS", ("acc", "uf1", "uar")))
  lines = [f"## {module.TITLE}", "",
           "| row | " + " | ".join(f"{c.upper()} (ours, pooled) | {c.upper()} (paper)"
                                   for c in columns) + " |",
           "|---|" + "---:|---:|" * len(columns)]
  any_oracle = False
  for i, (name, config, paper) in enumerate(row_configs(module, dataset, extra, tiny)):
    if config is None:
      metrics = None
    else:
      log(f"row {i + 1}: {name}")
      safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
      metrics = experiment.run(config, os.path.join(workdir, f"{i:02d}_{safe}"))
    cells = []
    for c in columns:
      ours = None if metrics is None else metric_of(metrics, c)
      theirs = paper.get(c)
      cells += [("not run" if metrics is None else "n/a") if ours is None else f"{ours:.4f}",
                "-" if theirs is None else f"{theirs:.4f}"]
    lines.append(f"| {name}{tables.oracle_mark(metrics)} | " + " | ".join(cells) + " |")
    any_oracle = any_oracle or tables.is_oracle(metrics)
  if any_oracle:
    lines += ["", tables.ORACLE_NOTE]
  text = "\n".join(lines) + "\n"
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "table.md"), "w") as f:
    f.write(text)
  return text

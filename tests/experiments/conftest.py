"""The paper-table tests' shared fixture: one row of a table end to end (tiny, in-process)
through experiments.table, with the checks every such run must pass."""

import dataclasses
import functools
import glob
import json
import os

import jax
import numpy as np
import pytest

from experiments import table
from merjax import config as config_lib
from merjax import paper_tables
from merjax.data import protocols, synthetic

# Compile options of the top-level programs: XLA's CPU optimisation off and the older fusion
# emitters (about a third less backend compile time than the MLIR ones on these programs).
FAST_JIT = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


@dataclasses.dataclass
class RowRun:
  """What one row's run left: its printed line (the paper's cells apart), config.json and
  metrics.json."""
  line: str
  paper: str           # the paper's cells of the line, space-separated ("-": not reported)
  config: dict
  metrics: dict

  def setting(self, dotted: str):
    """config.json's value at a dotted key."""
    return get(self.config, dotted)


def get(config: dict, dotted: str):
  for key in dotted.split("."):
    config = config[key]
  return config


def expected_predictions(config: dict) -> int:
  """Test clips of a synthetic run: every clip under LOSO, the stratified share under split."""
  options = synthetic.SyntheticConfig(**config["data"]["synthetic"])
  if config["data"]["folds"] == "loso":
    return options.num_subjects * options.clips_per_subject
  y_N = np.repeat(np.arange(options.num_classes), synthetic.class_counts(options))
  folds = protocols.split_folds(y_N, config["data"]["test_fraction"], config["train"]["seed"],
                                rule=config["data"]["split_rule"])
  return int(folds.test_FxN.sum())


def check_line(line: str, module, row, metrics: dict) -> str:
  """Each column prints ours (a [0, 1] value; "n/a" for another dataset's column, as a
  synthetic run has none) beside the paper's number ("-" when not reported); returns the
  paper's cells, space-separated."""
  columns = tuple(getattr(module, "COLUMNS", ("acc", "uf1", "uar")))
  cells = [c.strip() for c in line.strip().strip("|").split(" | ")[1:]]
  assert len(cells) == 2 * len(columns), line
  for column, ours, theirs in zip(columns, cells[::2], cells[1::2]):
    paper = row[2].get(column)
    assert theirs == ("-" if paper is None else f"{paper:.4f}"), column
    value = paper_tables.metric_of(metrics, column)
    if "/" in column and not column.startswith("synthetic/"):
      assert ours == "n/a" and value is None, column
    else:
      assert 0.0 <= value <= 1.0 and ours == f"{value:.4f}", column
  return " ".join(cells[1::2])


@pytest.fixture
def run_table_row(tmp_path, capsys, monkeypatch):
  """run(paper, table, row name, extra overrides) -> RowRun: experiments.table.main on that
  row alone with --tiny; asserts the run directory, that config.json holds the row's (and the
  extra) overrides, the printed line, and one prediction per test clip."""
  monkeypatch.setattr(jax, "jit", functools.partial(jax.jit, compiler_options=FAST_JIT))

  def run(paper: str, n: str, name: str, extra=()) -> RowRun:
    module = paper_tables.load_table(paper, n)
    (row,) = [r for r in module.ROWS if r[0] == name]
    monkeypatch.setattr(module, "ROWS", [row])
    workdir = str(tmp_path / f"{paper}{n}")
    assert table.main(["--paper", paper, "--table", n, "--tiny", "--workdir", workdir,
                       "data.cache_dir="] + list(extra)) == 0
    out = capsys.readouterr().out
    lines = [s for s in out.splitlines() if s.startswith(f"| {name} | ")]
    assert len(lines) == 1, out
    with open(os.path.join(workdir, "table.md")) as f:
      assert lines[0] in f.read().splitlines()
    (run_dir,) = glob.glob(os.path.join(workdir, "00_*"))
    for file in ("config.json", "predictions.csv", "metrics.json", "results.md"):
      assert os.path.isfile(os.path.join(run_dir, file)), file
    with open(os.path.join(run_dir, "config.json")) as f:
      config = json.load(f)
    with open(os.path.join(run_dir, "metrics.json")) as f:
      metrics = json.load(f)
    for item in list(row[1]) + list(extra):       # --tiny keeps every one of them
      key, text = item.split("=", 1)
      want = json.loads(json.dumps(config_lib.parse_value(text)))
      assert get(config, config_lib.canonical_key(key)) == want, item
    assert config["data"]["dataset"] == "synthetic" and config["train"]["epochs"] == 1
    paper_cells = check_line(lines[0], module, row, metrics)
    with open(os.path.join(run_dir, "predictions.csv")) as f:
      num_rows = len(f.read().splitlines()) - 1
    assert metrics["num_predictions"] == num_rows == expected_predictions(config)
    assert metrics["failed_folds"] == [] and set(metrics["per_dataset"]) == {"synthetic"}
    for key in ("acc", "uf1", "uar"):
      assert 0.0 <= metrics["pooled"][key] <= 1.0, key
    return RowRun(lines[0], paper_cells, config, metrics)

  return run

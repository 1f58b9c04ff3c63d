"""DIANet config and paper tables: every row builds (full size) and its tiny version
eval_shapes; one row end to end with --tiny in-process."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import pytest

from experiments import table
from merjax import config as config_lib
from merjax import paper_tables
from merjax.models import summary
from merjax.models.registry import build_model

TABLES = ("1", "2", "3", "4")
SIZE = 32


def _rows():
  out = []
  for n in TABLES:
    module = paper_tables.load_table("dianet", n)
    full = paper_tables.row_configs(module, None)
    tiny = paper_tables.row_configs(module, None, tiny=True)
    for (name, config, paper), (_, tiny_config, _) in zip(full, tiny):
      out.append(pytest.param(n, config, tiny_config, paper, id=f"table{n}-{name}"))
  return out


@pytest.mark.parametrize("n,config,tiny_config,paper", _rows())
def test_every_row_builds_and_its_tiny_shapes_check(n, config, tiny_config, paper):
  columns = paper_tables.load_table("dianet", n).COLUMNS
  assert set(paper) <= set(columns) and all(v is None or 0 < v < 1 for v in paper.values())
  if config is None:                                            # paper-only row
    return
  roles = config["data"]["inputs"]
  assert set(roles) == set(config["model"]["input_shapes"])    # describe sees the staged roles
  build_model(config["model"], 5)                              # the full-size config builds
  model = build_model(tiny_config["model"], 3)
  batch = {r: jax.ShapeDtypeStruct((2, SIZE, SIZE, 3), jnp.float32) for r in roles}
  out = jax.eval_shape(lambda b: model.init_with_output(
      {"params": jax.random.key(0), "dropout": jax.random.key(1)}, b, train=False)[0], batch)
  assert out["logits"].shape == (2, 3)
  assert (config["train"]["loss"]["name"] == "dianet") == ("f2" in out)


def test_dianet_config_is_the_papers_training():
  c = config_lib.load_config("dianet")
  assert c["train"]["optimizer"] == {"name": "adam", "learning_rate": 1e-4, "weight_decay": 0.0}
  assert (c["train"]["batch_size"], c["train"]["epochs"]) == (32, 50)
  assert c["train"]["selection"] == {"rule": "inner_val", "val_subjects": 1, "patience": 10}
  assert c["train"]["augment"] == {"flip": True, "rotate_deg": 10.0}
  assert c["train"]["loss"] == {"name": "dianet", "consistency_weight": 0.1}
  assert c["data"]["inputs"] == {"di_onset": "di_onset", "di_offset": "di_offset"}
  assert c["data"]["preprocess"]["size"] == 224 and c["data"]["folds"] == "loso"
  assert c["data"]["protocol"] == "dianet"
  info = summary.describe(build_model({**c["model"], "backbone": "resnet18"}, 5),
                          {r: (1,) + tuple(s) for r, s in c["model"]["input_shapes"].items()})
  assert info["outputs"]["f1"] == info["outputs"]["f2"] == (1, 512)


def test_one_row_end_to_end_tiny(tmp_path, capsys, monkeypatch):
  """Table 2's ResNet18 row runs in-process (XLA CPU optimisation off: compile-bound test)."""
  module = paper_tables.load_table("dianet", "2")
  monkeypatch.setattr(module, "ROWS", module.ROWS[:1])
  monkeypatch.setattr(jax, "jit", functools.partial(
      jax.jit, compiler_options={"xla_backend_optimization_level": 0}))
  workdir = str(tmp_path / "t2")
  assert table.main(["--paper", "dianet", "--table", "2", "--tiny", "--workdir", workdir]) == 0
  out = capsys.readouterr().out
  assert "| ResNet18 | n/a | 0.6167 | n/a | 0.6444 | n/a | 0.6494 |" in out
  run = os.path.join(workdir, "00_ResNet18")
  config = json.load(open(os.path.join(run, "config.json")))
  assert config["model"]["backbone"] == "resnet18" and config["train"]["epochs"] == 1
  metrics = json.load(open(os.path.join(run, "metrics.json")))
  assert 0.0 <= metrics["pooled"]["acc"] <= 1.0 and metrics["selection"] == "inner_val"

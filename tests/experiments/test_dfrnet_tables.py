"""DFR-Net configs, paper tables (every row's shapes, one row of every table end to end) and
the profile CLI."""

import types

import jax
import jax.numpy as jnp
import pytest

from experiments import profile
from merjax.configs import dfrnet as dfrnet_cfg
from merjax import config as config_lib
from merjax import paper_tables
from merjax.models import inputs, summary
from merjax.models.registry import build_model

TABLES = ("2", "3", "4", "5", "6", "8")
SIZE = 32


def _row_configs():
  out = []
  for n in TABLES:
    module = paper_tables.load_table("dfrnet", n)
    for name, config, paper in paper_tables.row_configs(module, None, tiny=True):
      out.append(pytest.param(n, name, config, paper, id=f"table{n}-{name}"))
  return out


@pytest.mark.parametrize("n,name,config,paper", _row_configs())
def test_every_row_builds_and_its_shapes_check(n, name, config, paper):
  columns = paper_tables.load_table("dfrnet", n).COLUMNS
  assert set(paper) <= set(columns) and all(paper[c] is None or 0 < paper[c] < 1 for c in paper)
  if config is None:                                    # paper-only row
    return
  # Each staged role has a derived shape; the model sees exactly the staged roles.
  roles = config["data"]["inputs"]
  shapes = inputs.input_shapes(config)
  assert set(roles) == set(shapes)
  batch = {r: jax.ShapeDtypeStruct((2, SIZE, SIZE, shapes[r][-1]), jnp.float32) for r in roles}
  model = build_model(config["model"], 3)
  variables = summary.abstract_variables(model, batch)
  out = jax.eval_shape(lambda v, b: model.apply(v, b, train=False), variables, batch)
  assert out["logits"].shape == (2, 3)


def test_dfrnet_config_is_the_papers_training():
  c = config_lib.load_config("dfrnet")
  assert c["train"]["optimizer"] == {"name": "adam", "learning_rate": 1e-5, "weight_decay": 0.0}
  assert (c["train"]["batch_size"], c["train"]["epochs"]) == (32, 100)
  assert c["train"]["selection"] == {"rule": "inner_val", "val_subjects": 1, "patience": 10}
  assert c["train"]["augment"]["flip"] and c["data"]["standardize"]
  assert c["data"]["inputs"] == {"spatial": "apex", "temporal": "flow_strain_dfrnet",
                                 "diff": "onset_apex_diff"}
  assert c["data"]["preprocess"]["apex_method"] == "dc_rois"


def test_per_row_base_paper_only_rows_and_dataset_columns(tmp_path, monkeypatch):
  module = types.SimpleNamespace(
      TITLE="t", BASE="dfrnet", COLUMNS=("uf1", "smic/uf1"),
      ROWS=[("only paper", None, {"uf1": 0.5}), ("other base", [], {"uf1": 0.6}, "ststnet")])
  rows = paper_tables.row_configs(module, "synthetic")
  assert rows[0][1] is None and rows[1][1]["model"]["name"] == "ststnet"
  metrics = {"pooled": {"uf1": 0.25}, "per_dataset": {"smic": {"pooled": {"uf1": 0.125}}}}
  assert paper_tables.metric_of(metrics, "smic/uf1") == 0.125
  assert paper_tables.metric_of(metrics, "samm/uf1") is None
  monkeypatch.setattr(paper_tables.experiment, "run", lambda config, workdir: metrics)
  text = paper_tables.run_table(module, str(tmp_path), log=lambda s: None)
  assert "| only paper | not run | 0.5000 | not run | - |" in text
  assert "| other base | 0.2500 | 0.6000 | 0.1250 | - |" in text


# One row per table, end to end (tiny): (row name, extra overrides, the paper's cells of its
# line, {config.json key: value}). Table 2 trains the full model (the other tables' "ours"
# row); the rest an ablation each, one ResNet stage where the table is about something else.
E2E_ROWS = {
    "2": ("DFR-Net (ours)", [], "0.7657 0.7295 0.6579 0.6422 0.8669 0.8491 0.7889 0.7325",
          {"model.name": "dfrnet", "data.inputs": {"spatial": "apex",
                                                   "temporal": "flow_strain_dfrnet",
                                                   "diff": "onset_apex_diff"}}),
    "3": ("S + D", ["model.num_stages=1"],
          "0.6474 0.6332 0.5547 0.5896 0.7217 0.7155 0.6317 0.5782",
          {"model.features": "S+D", "data.inputs": {"spatial": "apex",
                                                    "diff": "onset_apex_diff"}}),
    "4": ("Add", ["model.num_stages=1"],
          "0.6856 0.6563 0.6039 0.5946 0.7669 0.7609 0.6874 0.6353", {"model.fusion": "add"}),
    "5": ("ViT", [], "0.7877 0.7418", {"model.module": "vit", "model.vit_depth": 1}),
    "6": ("CA", ["model.num_stages=1"],
          "0.7596 0.7248 0.6470 0.6334 0.8586 0.8386 0.7949 0.7453", {"model.attention": "ca"}),
    "8": ("1", [], "0.6851 0.6504 0.6319 0.6177 0.7203 0.6907 0.6899 0.6628",
          {"model.num_stages": 1}),
}


@pytest.mark.parametrize("n", TABLES)
def test_one_row_of_every_table_end_to_end_tiny(n, run_table_row):
  name, extra, paper, sets = E2E_ROWS[n]
  run = run_table_row("dfrnet", n, name, extra)
  assert run.paper == paper
  for key, value in sets.items():
    assert run.setting(key) == value, key
  assert run.config["model"]["stage_widths"] == [8, 16, 32, 64]
  assert run.config["data"]["preprocess"]["size"] == 16 and run.config["data"]["standardize"]
  assert run.metrics["selection"] == "inner_val" and run.metrics["num_folds"] == 3


def test_profile_tiny_config():
  config = config_lib.apply_overrides(config_lib.load_config("dfrnet"), [
      "data.preprocess.size=16", "data.preprocess.grayscale=true",   # spatial, diff grey
      "model.stage_widths=[8, 16, 32, 64]", "model.shallow_width=8", "model.fused_width=8",
      "model.gate_hidden=8", "model.num_stages=2"])
  row = profile.profile_config(config, num_classes=3, runs=3, warmup=1,
                               devices=[jax.devices("cpu")[0]])
  assert {"params", "flops", "latency_ms"} <= set(row)
  shapes = inputs.batch_shapes(config)
  assert shapes == {"spatial": (1, 16, 16, 1), "temporal": (1, 16, 16, 3), "diff": (1, 16, 16, 1)}
  assert row["params"] == summary.describe(build_model(config["model"], 3), shapes)["params"]
  assert row["flops"] > 0 and row["latency_ms"] > 0
  assert "| x |" in profile.markdown([{**row, "label": "x", "paper": {}}])


def test_tiny_overrides_are_shared():
  assert dfrnet_cfg.TINY == paper_tables.load_table("dfrnet", "8").TINY

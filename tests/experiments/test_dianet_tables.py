"""DIANet config and paper tables: every row builds (full size) and its tiny version
eval_shapes; one row of every table end to end with --tiny in-process."""

import jax
import jax.numpy as jnp
import pytest

from merjax import config as config_lib
from merjax import paper_tables
from merjax.models import inputs, summary
from merjax.models.registry import build_model

TABLES = ("1", "2", "3", "4")


def _empty_outputs(jaxpr) -> set[str]:
  """The primitives (nested ones too) with an output of size 0."""
  found = set()
  for eqn in jaxpr.eqns:
    if any(0 in getattr(v.aval, "shape", ()) for v in eqn.outvars):
      found.add(str(eqn.primitive))
    for param in eqn.params.values():
      sub = getattr(param, "jaxpr", param)
      if hasattr(sub, "eqns"):
        found |= _empty_outputs(sub)
  return found


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
  assert set(inputs.input_shapes(config)) == set(roles)       # describe sees the staged roles
  build_model(config["model"], 5)                              # the full-size config builds
  model = build_model(tiny_config["model"], 3)
  size = tiny_config["data"]["preprocess"]["size"]                # the size --tiny runs at
  assert all(s == (size, size, 3) for s in inputs.input_shapes(tiny_config).values())
  batch = {r: jax.ShapeDtypeStruct((2,) + s, jnp.float32)
           for r, s in inputs.input_shapes(tiny_config).items()}
  jaxpr, out = jax.make_jaxpr(lambda b: model.init_with_output(
      {"params": jax.random.key(0), "dropout": jax.random.key(1)}, b, train=False)[0],
      return_shape=True)(batch)
  assert out["logits"].shape == (2, 3)
  assert not _empty_outputs(jaxpr.jaxpr)      # a trunk too deep for the size: NaN features
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
                          inputs.batch_shapes(c))
  assert info["outputs"]["f1"] == info["outputs"]["f2"] == (1, 512)


# One row per table, end to end (tiny): (row name, the paper's cells of its line,
# {config.json key: value}). Table 1: the full DIANet (EfficientNetV2, cross attention,
# consistency loss); 2: another trunk; 3: another fusion; 4: one stream on the whole DI.
E2E_ROWS = {
    "1": ("DIANet (DI-Onset + DI-Offset)", "0.7000 0.6889 0.6424 - - -",
          {"model.backbone": "efficientnetv2_s", "model.fusion": "cross", "model.streams": 2,
           "train.loss": {"name": "dianet", "consistency_weight": 0.1}}),
    "2": ("ResNet18", "0.6167 0.6444 0.6494 - - -", {"model.backbone": "resnet18"}),
    "3": ("Simple Attention Block", "0.6642 0.6316 0.5008 - - -",
          {"model.backbone": "efficientnetv2_s", "model.fusion": "simple"}),
    "4": ("1-stream, dynamic image (paper: LEARNet*)", "0.5667 0.5926 0.4896 - - -",
          {"model.streams": 1, "data.inputs": {"image": "dynamic_image_linear"},
           "train.loss": {"name": "cross_entropy"}}),
}


@pytest.mark.parametrize("n", TABLES)
def test_one_row_of_every_table_end_to_end_tiny(n, run_table_row):
  name, paper, sets = E2E_ROWS[n]
  run = run_table_row("dianet", n, name)
  assert run.paper == paper
  for key, value in sets.items():
    assert run.setting(key) == value, key
  assert run.config["model"]["feature_dim"] == 16 and run.config["data"]["protocol"] is None
  assert run.config["data"]["preprocess"]["size"] == 16
  assert run.metrics["selection"] == "inner_val" and run.metrics["num_folds"] == 3

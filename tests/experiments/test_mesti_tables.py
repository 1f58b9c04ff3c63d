"""MESTI-paper configs and tables: every row's shapes (abstractly), the paper's training,
one row of every table end to end (tiny)."""

import pytest

from merjax import config as config_lib
from merjax import paper_tables
from merjax.models import inputs, summary
from merjax.models.registry import build_model

TABLES = ("1", "2", "3", "4", "5", "6")
CONFIGS = ("meganet", "vgg19", "resnet50", "efficientnet_b0", "micro_attention")


def _rows():
  out = []
  for n in TABLES:
    module = paper_tables.load_table("mesti", n)
    for name, config, paper in paper_tables.row_configs(module, None, tiny=True):
      out.append(pytest.param(n, name, config, paper, id=f"table{n}-{name}"))
  return out


@pytest.mark.parametrize("n,name,config,paper", _rows())
def test_every_row_builds_and_its_shapes_check(n, name, config, paper):
  columns = paper_tables.load_table("mesti", n).COLUMNS
  assert set(paper) <= set(columns)
  assert all(v is None or 0 < v < 1 for v in paper.values()), paper
  if config is None:                                    # paper-only row
    return
  assert config["data"]["dataset"] == "synthetic" and config["train"]["epochs"] == 1
  roles = config["data"]["inputs"]
  shapes = inputs.input_shapes(config)
  assert set(roles) == set(shapes) == {"image"}
  size = config["data"]["preprocess"]["size"]
  assert shapes["image"][:2] == (size, size)
  info = summary.describe(build_model(config["model"], 3), inputs.batch_shapes(config, 2))
  assert info["outputs"]["logits"] == (2, 3)
  if config["model"]["name"] == "meganet":
    assert info["outputs"]["gradient_attention"] == (2, size, size, 1)


def test_configs_are_the_papers_training():
  for name in CONFIGS:
    c = config_lib.load_config(name)
    t = c["train"]
    assert t["optimizer"] == {"name": "adam", "learning_rate": 1e-3, "weight_decay": 1e-4}
    assert t["loss"] == {"name": "focal", "gamma": 2.0, "alpha": 1.0}
    assert (t["epochs"], t["batch_size"], t["selection"]["rule"]) == (50, 32, "last")
    assert t["augment"] == {"flip": True, "rotate_deg": [-10.0, -5.0, 5.0, 10.0]}
    assert c["data"]["inputs"] == {"image": "mesti"}
    assert c["data"]["preprocess"]["size"] == 224 and c["data"]["preprocess"]["equalize"]
    assert inputs.input_shapes(c)["image"] == (224, 224, 1 if name == "micro_attention" else 3)
  micro = config_lib.load_config("micro_attention")
  assert micro["data"]["preprocess"]["grayscale"] and micro["model"]["stem_conv_bias"]


def test_full_size_parameter_counts():
  """The paper-size networks (abstract: no memory, no FLOPs)."""
  def params(name, k, *extra):
    c = config_lib.apply_overrides(config_lib.load_config(name), list(extra))
    return summary.describe(build_model(c["model"], k), inputs.batch_shapes(c))["params"]
  assert params("meganet", 3) == 1_341_586
  assert params("micro_attention", 5) == 5_945_799


def test_table_layouts():
  t1 = paper_tables.load_table("mesti", "1")
  assert len(t1.ROWS) == 21
  # The channels Table I lists per modality are the ones merjax derives (2 for TV-L1 u, v).
  base = config_lib.load_config("vgg19")
  for _, modality, channels in t1.MODALITIES:
    base["data"]["inputs"] = {"image": modality}
    assert inputs.input_shapes(base)["image"] == (224, 224, channels), modality
  provisional = [r[0] for r in t1.ROWS if "PROVISIONAL" in r[0]]
  assert len(provisional) == 6 and all("provisional" in " ".join(r[1]) for r in t1.ROWS
                                       if r[0] in provisional)
  assert all("data.folds=split" in r[1] and "data.test_fraction=0.1" in r[1] for r in t1.ROWS)
  rows = dict((r[0], r) for r in t1.ROWS)
  assert rows["VGG19 / MESTI"][2] == {"casme2/acc": 0.7308, "samm/acc": 0.6250}
  t3 = paper_tables.load_table("mesti", "3")
  assert t3.ROWS[-1][2]["smic/acc"] == 0.926 and t3.ROWS[-1][1] == []
  assert sum(r[1] is None for r in t3.ROWS) == 12
  t5 = paper_tables.load_table("mesti", "5")
  full = config_lib.apply_overrides(config_lib.load_config("meganet"), t5.ROWS[-1][1])
  assert full["model"]["use_gradient_attention"] is True
  ga_off = config_lib.apply_overrides(config_lib.load_config("meganet"), t5.ROWS[0][1])
  assert (ga_off["model"]["use_gradient_attention"], ga_off["model"]["use_residual"],
          ga_off["model"]["use_self_attention"]) == (False, True, False)


# One row per table, end to end (tiny): (row name, the paper's cells of its line,
# {config.json key: value}, number of classes). Table I: a modality other than MESTI on the
# 90/10 split; II: a published network (grey Micro-Attention); III and IV: the only rows run
# (3 and 5 classes); V: an ablation; VI: two blocks.
E2E_ROWS = {
    "1": ("VGG19 / Optical flow (onset-apex)", "0.5000 0.5000 - - -",
          {"model.name": "vgg19", "data.inputs": {"image": "flow_onset_apex"},
           "data.folds": "split"}, 5),
    "2": ("Micro-Attention / MESTI", "0.7102 0.6324 - - -",
          {"model.name": "micro_attention", "data.preprocess.grayscale": True,
           "data.inputs": {"image": "mesti"}}, 5),
    "3": ("MESTI-MEGANet (ours)",
          "0.9130 0.9290 0.9320 0.9170 0.9240 0.9260 0.8900 0.9140 0.9180 - - -",
          {"model.name": "meganet", "model.num_blocks": 3}, 3),
    "4": ("MESTI-MEGANet (ours)", "0.7790 0.7860 0.8204 0.7910 0.8030 0.8088 - - -",
          {"model.name": "meganet", "model.num_blocks": 3}, 5),
    "5": ("Residual only (GA -, Res +, SA -)", "0.7880 0.8210 0.8049",
          {"model.use_gradient_attention": False, "model.use_residual": True,
           "model.use_self_attention": False}, 3),
    "6": ("x 2", "0.8020 0.8420 0.8232", {"model.name": "meganet", "model.num_blocks": 2}, 3),
}


@pytest.mark.parametrize("n", TABLES)
def test_one_row_of_every_table_end_to_end_tiny(n, run_table_row):
  name, paper, sets, classes = E2E_ROWS[n]
  run = run_table_row("mesti", n, name)
  assert run.paper == paper
  for key, value in sets.items():
    assert run.setting(key) == value, key
  assert run.config["data"]["preprocess"]["size"] == 16
  assert run.config["train"]["loss"]["name"] == "focal"
  assert run.metrics["selection"] == "last" and run.metrics["num_classes"] == classes
  assert run.metrics["num_folds"] == (1 if n == "1" else 3)

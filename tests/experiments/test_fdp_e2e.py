"""FDP end to end: the "fdp" loss vs numpy, every paper-table row, one LOSO run, one row of
every table (tiny) through experiments.table, Table 14's DI MSE through experiments.show_fdp.

JAX compilation dominates: every run uses the TINY configuration of merjax/configs/fdp.py
with jax_threefry_partitionable off (RNG ops compile ~10x faster on CPU) and cheaper XLA CPU
compilation (`fast_jit`). Under TINY most tables' rows are the same programs as the LOSO
run, so after it they cost tracing only (the persistent compilation cache of conftest.py).
"""

import functools
import glob
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import loso, show_fdp, table
from merjax.configs import fdp as fdp_cfg
from merjax import config as config_lib
from merjax import paper_tables
from merjax.data import testing
from merjax.errors import MerjaxError
from merjax.models import inputs
from merjax.models.registry import build_model
from merjax.training import losses

TABLES = ("4", "5", "6", "7", "8", "9", "10", "11", "14")


@pytest.fixture(scope="module", autouse=True)
def _fast_rng_compile():
  with jax.threefry_partitionable(False):
    yield


# XLA's CPU optimisation off and the older fusion emitters: the tiny FDP's programs compile in
# ~14 s of CPU instead of ~22 s (the MLIR emitters), and run about as fast.
FAST_JIT = {"xla_backend_optimization_level": 0, "xla_cpu_use_fusion_emitters": False}


@pytest.fixture
def fast_jit(monkeypatch):
  """Top-level programs compiled with FAST_JIT (every run of this module uses it, so the runs
  share compiled programs through the persistent cache)."""
  monkeypatch.setattr(jax, "jit", functools.partial(jax.jit, compiler_options=FAST_JIT))


# ---------------------------------------------------------------- loss

def _numpy_loss(logits, labels, di_pred, scores, frames, lambda_d, lambda_r):
  t = frames.shape[1]
  w = np.array([sum((2 * k - t - 1) / k for k in range(i, t + 1)) for i in range(1, t + 1)])
  grey = frames @ np.array([0.299, 0.587, 0.114]) if frames.shape[-1] == 3 else frames[..., 0]
  target = np.einsum("t,bthw->bhw", w, grey)
  lo = target.min(axis=(1, 2), keepdims=True)
  hi = target.max(axis=(1, 2), keepdims=True)
  target = (target - lo) / (hi - lo)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  ce = -logp[np.arange(len(labels)), labels].mean()
  dic = ((di_pred[..., 0] - target) ** 2).mean()
  rank = np.abs(np.arange(scores.shape[1]) - scores).sum(-1).mean()     # Eq. 5: k = 0..t-1
  return ce + lambda_d * dic + lambda_r * rank, ce, dic, rank


@pytest.mark.parametrize("channels", [1, 3])
def test_fdp_loss_on_device_matches_numpy(channels):
  rng = np.random.default_rng(0)
  frames = rng.uniform(0, 1, (2, 3, 4, 4, channels))
  logits = rng.normal(size=(2, 5))
  labels = np.array([1, 4])
  di_pred = rng.uniform(0, 1, (2, 4, 4, 1))
  scores = rng.normal(size=(2, 3)) + 2
  fn = losses.make_loss({"name": "fdp", "lambda_d": 100.0, "lambda_r": 0.1})
  outputs = {"logits": jnp.asarray(logits, jnp.float32),
             "dynamic_image": jnp.asarray(di_pred, jnp.float32),
             "rank_scores": jnp.asarray(scores, jnp.float32)}
  loss, parts = jax.jit(fn)(outputs, {"frames": jnp.asarray(frames, jnp.float32)},
                            jnp.asarray(labels))
  want, ce, dic, rank = _numpy_loss(logits, labels, di_pred, scores, frames, 100.0, 0.1)
  np.testing.assert_allclose(parts["ce"], ce, rtol=1e-5)
  np.testing.assert_allclose(parts["dic"], dic, rtol=1e-5)
  np.testing.assert_allclose(parts["rank"], rank, rtol=1e-5)
  np.testing.assert_allclose(loss, want, rtol=1e-5)
  # lambda_m = 0 ("w/o L_MER") drops the CE term; an ablated model drops its terms.
  no_mer = losses.make_loss({"name": "fdp", "lambda_m": 0.0})
  np.testing.assert_allclose(no_mer(outputs, {"frames": frames}, labels)[0],
                             100.0 * dic + 0.1 * rank, rtol=1e-5)
  np.testing.assert_allclose(fn({"logits": outputs["logits"]}, {}, labels)[0], ce, rtol=1e-5)


def test_fdp_loss_rejects_unknown_options():
  with pytest.raises(MerjaxError, match="lambda_x"):
    losses.make_loss({"name": "fdp", "lambda_x": 1.0})


# ---------------------------------------------------------------- configs and tables

def test_configs_are_the_papers_and_the_releases_training():
  paper = config_lib.load_config("fdp")
  assert paper["train"]["optimizer"] == {"name": "adam", "learning_rate": 1e-4,
                                         "weight_decay": 0.0}
  assert paper["train"]["batch_size"] == 36
  assert paper["train"]["loss"] == {"name": "fdp", "lambda_d": 100.0, "lambda_r": 0.1,
                                    "first_index": 0}      # Eq. 5: k = 0 .. t-1
  assert paper["train"]["augment"] == {"flip": True, "translate_px": 4}
  assert paper["data"]["preprocess"]["num_frames"] == 8
  release = config_lib.load_config("fdp_release")
  assert release["train"]["optimizer"]["weight_decay"] == 1e-3
  assert release["train"]["augment"] == {} and release["data"]["preprocess"]["grayscale"]
  assert release["train"]["selection"]["rule"] == "last"
  assert release["train"]["total_steps"] == 500    # the release's step count, not epochs


def _rows():
  for n in TABLES:
    module = paper_tables.load_table("fdp", n)
    full = paper_tables.row_configs(module, None)
    tiny = paper_tables.row_configs(module, None, tiny=True)
    for (name, config, paper), (_, tiny_config, _) in zip(full, tiny):
      yield pytest.param(n, name, config, tiny_config, paper, id=f"table{n}-{name}")


@pytest.mark.parametrize("n,name,config,tiny_config,paper", list(_rows()))
def test_every_table_row_resolves_and_its_tiny_model_traces(n, name, config, tiny_config, paper):
  module = paper_tables.load_table("fdp", n)
  assert set(paper) <= set(module.COLUMNS)
  if config is None:
    return
  assert config["data"]["dataset"] != "synthetic"      # a real dataset and its protocol
  assert config["data"]["protocol"] in fdp_cfg.PROTOCOLS.values()
  assert tiny_config["data"]["dataset"] == "synthetic"
  model = build_model(tiny_config["model"], 3)
  batch = {"frames": jax.ShapeDtypeStruct(inputs.batch_shapes(tiny_config, 2)["frames"],
                                          jnp.float32)}
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  variables = jax.eval_shape(lambda b: model.init(rngs, b, train=False), batch)
  out = jax.eval_shape(lambda v, b: model.apply(v, b, train=False), variables, batch)
  assert out["logits"].shape == (2, 3)
  assert ("dynamic_image" in out) == tiny_config["model"].get("use_dic", True)


# ---------------------------------------------------------------- end to end

def test_loso_fdp_on_tiny_synthetic(tmp_path, fast_jit):
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "fdp", "--dataset", "synthetic", "--workdir", workdir]
                   + fdp_cfg.TINY) == 0
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["num_predictions"] == 9 and metrics["num_folds"] == 3
  history = json.load(open(os.path.join(workdir, "history.json")))
  assert all(np.isfinite(h["loss"]).all() and not h["failed"] for h in history)


def test_quick_is_the_paper_structure_at_a_cpu_size():
  """`--quick` (README): fdp's QUICK overrides keep t = 8, N_L/N_G, the rank and DI terms, and
  the model traces at the staged size; user overrides still win; a config without QUICK is a
  one-line error."""
  config = config_lib.resolve("fdp", "synthetic", ["train.epochs=1"], quick=True)
  assert config["train"]["epochs"] == 1 and config["train"]["loss"]["lambda_r"] == 0.1
  assert config["data"]["preprocess"]["size"] == 32
  assert config["data"]["preprocess"]["num_frames"] == 8
  shape = inputs.input_shapes(config)["frames"]
  assert shape == (8, 32, 32, 3)
  model = build_model(config["model"], 5)
  assert (model.num_local, model.num_global) == (2, 1)
  batch = {"frames": jax.ShapeDtypeStruct((2,) + shape, jnp.float32)}
  variables = jax.eval_shape(lambda b: model.init(
      {"params": jax.random.key(0), "dropout": jax.random.key(1)}, b, train=False), batch)
  out = jax.eval_shape(lambda v, b: model.apply(v, b, train=False), variables, batch)
  assert out["logits"].shape == (2, 5) and out["dynamic_image"].shape == (2, 32, 32, 1)
  with pytest.raises(MerjaxError, match="no QUICK"):
    config_lib.resolve("ststnet", "synthetic", quick=True)


# One row per table: (row name, its paper numbers as printed, config.json values it sets).
# Tables 4-7, 10, 11 and 14 take the row that is the full FDP under TINY (the LOSO run's
# programs: tracing only); Table 9 an ablation (its own programs); Table 8 its cross-dataset
# row on a CASME II + SAMM fixture copy (synthetic has one dataset: no cross split there).
E2E_ROWS = {
    "4": ("FDP (CASME II)", ("0.8842", "0.8705"), {}),
    "5": ("FDP (SAMM)", ("0.9125", "0.8667"), {}),
    "6": ("FDP", ("0.8367", "0.8169"), {}),
    "7": ("FDP", ("0.5978", "0.5784"), {}),
    "8": ("FDP CASME II->SAMM", ("0.5820", "0.5180"),
          {"data.dataset": "casme2_samm", "data.protocol": "fdp_cross3", "data.folds": "cross",
           "data.train_dataset": "casme2", "data.test_dataset": "samm"}),
    "9": ("FDP w/o L&G", ("0.6070", "0.5905"),
          {"model.use_local": False, "model.use_global": False}),
    "10": ("Ours C*+T (multi-head conv)", ("0.8669", "0.8529"), {}),
    "11": ("lambda_d=100, lambda_r=0.1", ("0.8669", "0.8529"),
           {"train.loss.lambda_d": 100, "train.loss.lambda_r": 0.1}),
    "14": ("FDP", ("1.4400", None), {}),
}


@pytest.fixture(scope="module")
def casme2_samm_root(tmp_path_factory):
  return testing.make_casme2_samm(str(tmp_path_factory.mktemp("casme2_samm")))


def _get(config, dotted):
  for key in dotted.split("."):
    config = config[key]
  return config


@pytest.mark.parametrize("n", TABLES)
def test_one_row_of_every_table_end_to_end_tiny(n, tmp_path, capsys, monkeypatch, fast_jit,
                                                casme2_samm_root):
  name, paper, sets = E2E_ROWS[n]
  module = paper_tables.load_table("fdp", n)
  (row,) = [r for r in module.ROWS if r[0] == name]
  monkeypatch.setattr(module, "ROWS", [row])
  extra = []
  if n == "8":   # the row's data settings again after TINY's synthetic ones, on the fixture
    extra = [o for o in row[1] if o.split("=")[0] in ("data.dataset", "data.protocol",
                                                      "data.folds")]
    # The fixture's SAMM frames are 8 x 8 noise: no face to align.
    extra += [f"data.root={casme2_samm_root}", "data.preprocess.face_pipeline=none"]
  workdir = str(tmp_path / f"t{n}")
  assert table.main(["--paper", "fdp", "--table", n, "--tiny", "--workdir", workdir]
                    + extra) == 0
  (run,) = glob.glob(os.path.join(workdir, "00_*"))
  metrics = json.load(open(os.path.join(run, "metrics.json")))
  ours = [metrics["pooled"].get(c) for c in module.COLUMNS]
  cells = []
  for value, theirs in zip(ours, paper):
    cells += ["n/a" if value is None else f"{value:.4f}", theirs or "-"]
  line = f"| {name} | " + " | ".join(cells) + " |"
  assert line in capsys.readouterr().out
  # Table 14's MSE column is n/a here (experiments.show_fdp computes it); the rest are real.
  assert [v is None for v in ours] == [n == "14", False]
  assert all(0.0 <= v <= 1.0 for v in ours if v is not None)
  config = json.load(open(os.path.join(run, "config.json")))
  assert config["model"]["name"] == "fdp" and config["model"]["widths"] == [8]
  assert config["train"]["epochs"] == 1 and config["data"]["preprocess"]["size"] == 16
  for key, value in sets.items():
    assert _get(config, key) == value, key
  if n == "8":
    assert (metrics["num_predictions"], metrics["num_folds"]) == (5, 1)
    assert set(metrics["per_dataset"]) == {"samm"}
    assert metrics["class_names"] == ["happiness", "surprise", "others"]
  else:
    assert config["data"]["dataset"] == "synthetic"
    assert (metrics["num_predictions"], metrics["num_folds"]) == (9, 3)


def test_table14_di_mse_tiny(capsys, monkeypatch, fast_jit, tmp_path):
  """Table 14's own runner: the constructed DI's MSE beside the paper's (the full FDP row)."""
  module = paper_tables.load_table("fdp", "14")
  monkeypatch.setattr(module, "ROWS", module.ROWS[:1])
  assert show_fdp.main(["--table", "14", "--tiny", "--workdir", str(tmp_path)]) == 0
  (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| FDP |")]
  _, _, mse, paper, acc, _ = [c.strip() for c in line.split("|")]
  assert paper == "1.44" and 0.0 < float(mse) < 1000.0 and 0.0 <= float(acc) <= 1.0

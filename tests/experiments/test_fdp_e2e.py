"""FDP end to end: the "fdp" loss vs numpy, every paper-table row, one LOSO run, Table 9 (tiny).

JAX compilation dominates: every run uses the TINY widths of experiments/configs/fdp.py, and the
module runs with jax_threefry_partitionable off (RNG ops compile ~10x faster on CPU).
"""

import json
import os
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import loso
from experiments.configs import fdp as fdp_cfg
from merjax import config as config_lib
from merjax import paper_tables
from merjax.errors import MerjaxError
from merjax.models.registry import build_model
from merjax.training import losses

TABLES = ("4", "5", "6", "7", "8", "9", "10", "11", "14")


@pytest.fixture(scope="module", autouse=True)
def _fast_rng_compile():
  with jax.threefry_partitionable(False):
    yield


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
  rank = np.abs(np.arange(1, scores.shape[1] + 1) - scores).sum(-1).mean()
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
  assert paper["train"]["loss"] == {"name": "fdp", "lambda_d": 100.0, "lambda_r": 0.1}
  assert paper["train"]["augment"] == {"flip": True, "translate_px": 4}
  assert paper["data"]["preprocess"]["num_frames"] == 8
  release = config_lib.load_config("fdp_release")
  assert release["train"]["optimizer"]["weight_decay"] == 1e-3
  assert release["train"]["augment"] == {} and release["data"]["preprocess"]["grayscale"]
  assert release["train"]["selection"]["rule"] == "last"
  from experiments.configs.fdp_release import release_epochs
  assert release_epochs(245) == 71 and release_epochs(153) == 100


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
  batch = {"frames": jax.ShapeDtypeStruct((2, 4, 32, 32, 3), jnp.float32)}
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  variables = jax.eval_shape(lambda b: model.init(rngs, b, train=False), batch)
  out = jax.eval_shape(lambda v, b: model.apply(v, b, train=False), variables, batch)
  assert out["logits"].shape == (2, 3)
  assert ("dynamic_image" in out) == tiny_config["model"].get("use_dic", True)


# ---------------------------------------------------------------- end to end

def test_loso_fdp_on_tiny_synthetic(tmp_path):
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "fdp", "--dataset", "synthetic", "--workdir", workdir]
                   + fdp_cfg.TINY) == 0
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["num_predictions"] == 9 and metrics["num_folds"] == 3
  history = json.load(open(os.path.join(workdir, "history.json")))
  assert all(np.isfinite(h["loss"]).all() and not h["failed"] for h in history)


def test_table9_ablation_tiny(tmp_path):
  module = paper_tables.load_table("fdp", "9")
  # Two rows (compilation is the cost): the full model and the one without L and G.
  rows = types.SimpleNamespace(**{k: getattr(module, k) for k in ("TITLE", "BASE", "COLUMNS",
                                                                    "TINY")})
  rows.ROWS = [module.ROWS[0], module.ROWS[-1]]
  text = paper_tables.run_table(rows, str(tmp_path), tiny=True, log=lambda s: None)
  assert "| FDP | " in text and "| FDP w/o L&G | " in text
  assert "0.8669" in text and "n/a" not in text and "not run" not in text
  assert os.path.isfile(tmp_path / "00_FDP" / "metrics.json")

"""tools/torch_models.py (the PyTorch MEGANet / FDP twins of tools/bench_vs_torch.py): the
parameter counts of merjax's Flax models, the same losses, and one tiny step of each bench
child (no timing asserts)."""

import importlib.util
import json
import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest
import torch

_TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools")

# Tiny sizes of both sides (config overrides): one step per child.
TINY = {
    "meganet": ["model.num_blocks=2", "model.widths=[8,16,32,64]", "data.preprocess.size=16",
                "train.batch_size=4"],
    "fdp": ["model.stem_widths=[8,8]", "model.stem_strides=[2,2]", "model.widths=[8]",
            "model.strides=[1]", "model.num_local=1", "model.num_global=1",
            "model.feature_dim=16", "model.temporal_channels=2", "model.mer_hidden=8",
            "model.mer_pool=2", "model.dic_widths=[4]", "data.preprocess.size=16",
            "data.preprocess.num_frames=4", "train.batch_size=4"],
}


@pytest.fixture(scope="module")
def bench():
  spec = importlib.util.spec_from_file_location("bench_vs_torch",
                                                os.path.join(_TOOLS, "bench_vs_torch.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)   # puts tools/ on sys.path (torch_models)
  return module


@pytest.fixture(scope="module")
def tm(bench):
  del bench
  return sys.modules.get("torch_models") or importlib.import_module("torch_models")


@pytest.mark.parametrize("model, overrides, expected", [
    ("meganet", [], 1_341_586),        # merjax/models/meganet.py's docstring, 224 x 224
    ("fdp", [], 109_846),              # the QUICK size
    ("fdp", ["model.stem_widths=[64,32,64,64]", "model.stem_strides=[2,1,1,2]",
             "model.widths=[96,192,384,768]", "model.strides=[1,2,2,2]",
             "model.feature_dim=4096", "model.dic_widths=[64,128,256,512]",
             "data.preprocess.size=64"], 28_223_726),   # the paper size (merjax/configs/fdp.py)
])
def test_parameter_counts_match_flax(bench, model, overrides, expected):
  _, flax_n, torch_n = bench.twin_fields(model, overrides)
  assert flax_n == torch_n == expected


def test_torch_ststnet_matches_the_flax_parameter_count(tm):
  """The benchmarks' torch STSTNet (the official layout) against merjax's: 1,683 parameters
  for 3 classes."""
  from merjax.models.ststnet import STSTNet  # pylint: disable=import-outside-toplevel
  from merjax.models.summary import count_params  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  variables = STSTNet(num_classes=3).init(jax.random.PRNGKey(0),
                                          {"image": jnp.zeros((1, 28, 28, 3))}, train=False)
  assert tm.count_params(tm.STSTNet(3)) == count_params(variables["params"]) == 1_683


def test_twin_outputs_have_the_flax_shapes(bench, tm):
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel
  from merjax.models.summary import describe  # pylint: disable=import-outside-toplevel
  config = bench.twin_config("fdp", TINY["fdp"])
  flax_model = build_model(config["model"], 5)
  want = describe(flax_model, {"frames": (2, 4, 16, 16, 3)})["outputs"]
  net = tm.build("fdp", tm.fields_of(flax_model), frames=4).eval()
  out = net(torch.zeros(2, 4, 3, 16, 16))
  assert tuple(out["logits"].shape) == want["logits"]
  assert tuple(out["rank_scores"].shape) == want["rank_scores"]
  assert tuple(out["dynamic_image"].permute(0, 2, 3, 1).shape) == want["dynamic_image"]


def test_losses_match_merjax(tm):
  from merjax.training import fdp_losses, losses  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  frames = rng.random((3, 5, 6, 6, 3), dtype=np.float32)
  logits, y = rng.normal(size=(3, 4)).astype(np.float32), np.asarray([0, 3, 1])
  out = {"logits": logits, "rank_scores": rng.normal(size=(3, 5)).astype(np.float32),
         "dynamic_image": rng.random((3, 6, 6, 1), dtype=np.float32)}
  want, _ = fdp_losses.fdp_loss({k: jnp.asarray(v) for k, v in out.items()},
                                {"frames": jnp.asarray(frames)}, jnp.asarray(y))
  got = tm.fdp_loss({"logits": torch.from_numpy(logits),
                     "rank_scores": torch.from_numpy(out["rank_scores"]),
                     "dynamic_image": torch.from_numpy(out["dynamic_image"]).permute(0, 3, 1, 2)},
                    torch.from_numpy(frames).permute(0, 1, 4, 2, 3), torch.from_numpy(y))
  np.testing.assert_allclose(float(got), float(want), rtol=1e-5)
  want_focal, _ = losses.focal({"logits": jnp.asarray(logits)}, None, jnp.asarray(y))
  got_focal = tm.focal_loss(torch.from_numpy(logits), torch.from_numpy(y))
  np.testing.assert_allclose(float(got_focal), float(want_focal), rtol=1e-5)


def test_augment_identity_and_flip(tm):
  x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
  torch.testing.assert_close(tm.augment(x, rotate_deg=[0.0]), x)   # the only angle is 0
  g = torch.Generator().manual_seed(0)
  flipped = tm.augment(x, flip=True, generator=g)
  for i in range(2):   # each sample either unchanged or mirrored left-right
    assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))


def _child(bench, capsys, model, spec):
  fields, flax_n, torch_n = bench.twin_fields(model, TINY[model])
  assert flax_n == torch_n
  argv = ["--child", spec, "--model", model, "--folds", "1", "--epochs", "1", "--subjects", "2",
          "--clips", "6", "--offsets", "2", "--twin-fields", json.dumps(fields)]
  assert bench.main(argv + [f"--set={o}" for o in TINY[model]]) == 0
  line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("RESULT ")][-1]
  return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("model", ["meganet", "fdp"])
def test_torch_child_runs_one_step(bench, capsys, model):
  subject_N, _ = bench.twin_layout(2, 6, 3)
  n_train = int(np.sum(subject_N != sorted(set(subject_N))[0]))
  assert 2 <= n_train <= 4                 # one batch of 4: the last batch wraps ("full")
  result = _child(bench, capsys, model, "torch")
  assert (result["steps"], result["samples"]) == (1, 4)


@pytest.mark.parametrize("model", ["meganet", "fdp"])
def test_merjax_child_runs_the_same_steps(bench, capsys, model):
  result = _child(bench, capsys, model, "sequential")
  assert (result["steps"], result["samples"]) == (1, 4)

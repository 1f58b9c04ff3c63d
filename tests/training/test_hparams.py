"""Traced per-member hyperparameters: which keys trace, the traced dropout, and
that an injected optimizer value trains exactly like a configured one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from merjax.configs import common
from merjax.errors import MerjaxError
from merjax.data import protocols
from merjax.models import layers
from merjax.models.registry import build_model
from merjax.training import hparams, losses, optim, strategies
from merjax.training import trainer as trainer_lib


def _config(loss="cross_entropy", model="ststnet"):
  c = common.base_config()
  c["model"]["name"] = model
  c["train"]["loss"] = {"name": loss}
  return c


@pytest.mark.parametrize("key,values,loss,model,expected", [
    ("train.optimizer.learning_rate", [1e-3, 1e-4], "cross_entropy", "ststnet", True),
    ("train.optimizer.name", ["adam", "sgd"], "cross_entropy", "ststnet", False),
    ("train.optimizer.learning_rate", [1e-3, "x"], "cross_entropy", "ststnet", False),
    ("train.loss.gamma", [1.0, 2.0], "focal", "ststnet", True),
    ("train.loss.gamma", [1.0, 2.0], "cross_entropy", "ststnet", False),
    ("train.loss.consistency_weight", [0.1, 1.0], "dianet", "ststnet", True),
    ("train.augment.rotate_deg", [0, 10], "cross_entropy", "ststnet", True),
    ("train.augment.flip", [True, False], "cross_entropy", "ststnet", False),
    ("model.dropout", [0.1, 0.5], "cross_entropy", "meganet", True),
    ("model.num_blocks", [2, 3], "cross_entropy", "meganet", False),
    ("data.preprocess.size", [32, 64], "cross_entropy", "ststnet", False),
])
def test_which_keys_are_traced(key, values, loss, model, expected):
  config = _config(loss, model)
  built = build_model(config["model"], 3)
  assert hparams.is_traceable(key, values, config, built) is expected


def test_split_and_inject_optimizer():
  parts = hparams.split({"train.optimizer.learning_rate": 0.5, "train.loss.gamma": 1.0,
                         "train.augment.translate_px": 2.0, "model.dropout": 0.3})
  assert parts == {"optimizer": {"learning_rate": 0.5}, "loss": {"gamma": 1.0},
                   "augment": {"translate_px": 2.0}, "model": {"dropout": 0.3}}
  tx = optim.make_optimizer({"name": "adam", "learning_rate": 1e-3})
  state = hparams.inject_optimizer(tx.init({"w": jnp.zeros(3)}), {"learning_rate": 0.25})
  assert float(state.hyperparams["learning_rate"]) == 0.25
  assert float(state.hyperparams["weight_decay"]) == 0.0
  with pytest.raises(ValueError, match="momentum"):
    hparams.inject_optimizer(state, {"momentum": 0.9})


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.7])
def test_traced_dropout_equals_flax_dropout(rate):
  x = jnp.arange(1.0, 49.0).reshape(2, 4, 6)
  rngs = {"dropout": jax.random.key(7)}
  ours = jax.jit(lambda r: layers.Dropout(r).apply({}, x, deterministic=False, rngs=rngs))(rate)
  flax = nn.Dropout(rate).apply({}, x, deterministic=False, rngs=rngs)
  np.testing.assert_allclose(np.asarray(ours), np.asarray(flax), rtol=1e-6)
  assert float(jnp.mean(ours == 0)) == pytest.approx(float(jnp.mean(flax == 0)))
  np.testing.assert_array_equal(layers.Dropout(rate).apply({}, x, deterministic=True), x)


def test_injected_learning_rate_trains_like_a_configured_one():
  """Two combinations traced in one program give each the logits of a
  program built with that learning rate as a constant."""
  rng = np.random.default_rng(0)
  subject_N = np.repeat(["a", "b", "c"], 4)
  data = {"inputs": {"image": rng.normal(size=(12, 16, 16, 3)).astype(np.float32)},
          "y": np.tile([0, 1, 2, 0], 3).astype(np.int32)}
  folds = protocols.loso_folds(subject_N)
  model = build_model({"name": "ststnet"}, 3)

  def fns(lr, tables):
    return trainer_lib.FoldFunctions(
        model=model, loss_fn=losses.cross_entropy,
        tx=optim.make_optimizer({"name": "adam", "learning_rate": lr}), batch_size=4,
        steps_per_epoch=trainer_lib.steps_per_epoch(tables, 4), augment={"translate_px": 2.0},
        augment_roles=("image",), loss_config={"name": "cross_entropy"})

  lrs = [1e-3, 5e-2]
  swept = trainer_lib.member_tables(folds, [0], subject_N,
                                    combos=[{"train.optimizer.learning_rate": lr} for lr in lrs])
  np.testing.assert_array_equal(swept.combo_M, [0, 0, 0, 1, 1, 1])
  out = strategies.run_members(fns(1.0, swept), data, swept, epochs=2, strategy="vmap",
                               group_size=6)
  plain = trainer_lib.member_tables(folds, [0], subject_N)
  for c, lr in enumerate(lrs):
    alone = strategies.run_members(fns(lr, plain), data, plain, epochs=2, strategy="vmap",
                                   group_size=3)
    for f in range(3):
      np.testing.assert_allclose(out[3 * c + f].logits, alone[f].logits, rtol=1e-4, atol=1e-5)
  assert not np.allclose(out[0].logits, out[3].logits)


def test_backbone_lr_scale_needs_a_backbone():
  """The scale labels the backbone modules; on a model without one it is refused, not ignored."""
  params = {"backbone": {"w": jnp.ones(2)}, "head": {"w": jnp.ones(2)}}
  labels = optim.backbone_labels(params)
  assert labels == {"backbone": {"w": "backbone"}, "head": {"w": "head"}}
  tx = optim.make_optimizer({"name": "sgd", "learning_rate": 1.0, "momentum": 0.0,
                             "backbone_lr_scale": 0.1})
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(updates["backbone"]["w"], -0.1)
  np.testing.assert_allclose(updates["head"]["w"], -1.0)
  with pytest.raises(MerjaxError, match=r"backbone_lr_scale: this model has no backbone"):
    tx.init({"conv1": {"w": jnp.ones(2)}, "fc": {"w": jnp.ones(2)}})

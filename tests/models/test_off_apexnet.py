"""OFF-ApexNet: parameter count, shapes, u/v channel selection."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from merjax.models.summary import count_params, describe
from merjax.models.testing import jit_unoptimized as _jit, materialize as _materialize
from merjax.models.testing import build


def _abstract_variables(model, shapes):
  batch = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in shapes.items()}
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  return jax.eval_shape(lambda b: model.init(rngs, b, train=False), batch)


def _abstract_params(model, shapes):
  return _abstract_variables(model, shapes)["params"]






def test_param_count_matches_reference():
  # per stream: conv 5x5x1x6 + 6 = 156, conv 5x5x6x16 + 16 = 2,416; two streams = 5,144
  # fc1 1568*1024 + 1024 = 1,606,656; fc2 1024*1024 + 1024 = 1,049,600; fc3 1024*3 + 3 = 3,075
  assert 5_144 + 1_606_656 + 1_049_600 + 3_075 == 2_664_475
  summary = describe(build("off_apexnet", {}, 3), {"image": (2, 28, 28, 2)})
  assert summary["params"] == 2_664_475
  assert summary["outputs"] == {"logits": (2, 3)}
  params5 = _abstract_params(build("off_apexnet", {}, 5), {"image": (2, 28, 28, 2)})
  assert count_params(params5) == 2_664_475 + 2 * 1_025


def test_forward_train_eval_and_channel_selection():
  model = build("off_apexnet", {"name": "off_apexnet"}, 3)
  x = np.random.default_rng(0).normal(size=(3, 28, 28, 3)).astype(np.float32)
  x[1] = x[0]
  x[1, ..., 2] = 5.0  # row 1: row 0 with channel 2 (strain) changed
  x[2] = x[0]
  x[2, ..., 0] = 5.0  # row 2: row 0 with channel 0 (u) changed
  x_3 = jnp.asarray(x)
  variables = _materialize(_abstract_variables(model, {"image": x_3.shape}))
  apply = _jit(model.apply, static_argnames="train")
  out = apply(variables, {"image": x_3}, train=False)
  chex.assert_shape(out["logits"], (3, 3))
  chex.assert_tree_all_finite(out)
  np.testing.assert_allclose(out["logits"][1], out["logits"][0])  # strain channel ignored
  assert not np.allclose(out["logits"][2], out["logits"][0])      # u channel used
  out_tr = apply(variables, {"image": x_3}, train=True, rngs={"dropout": jax.random.key(2, impl="rbg")})
  chex.assert_shape(out_tr["logits"], (3, 3))
  assert not np.allclose(out_tr["logits"], out["logits"])  # dropout is active in train

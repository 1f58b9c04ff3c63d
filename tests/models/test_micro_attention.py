"""Micro-Attention: the Caffe parameter count and a real forward pass."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.models import micro_attention
from merjax.models.summary import abstract_variables, count_params, describe
from merjax.models.testing import build

RNGS = {"params": jax.random.key(0), "dropout": jax.random.key(1)}


def abstract_params(model, shape):
  return abstract_variables(model, {"image": jax.ShapeDtypeStruct(shape, jnp.float32)})["params"]


# By hand (Caffe, BN and Scale gamma/beta counted, BN statistics not):
#   data-BN 2; conv1 7x7 1->64 + bias 3,200; BN 128
#   block 64: 2 x 3x3 73,728 + BN 128 + attention 192*64 + 64 = 12,352           86,208
#   block c_in->c: pre-BN 2*c_in + 9*c_in*c + BN 2c + 9*c*c + 1x1 c_in*c + 3c*c + c
#     64->128 279,040;  128->256 1,115,136;  256->512 4,458,496
#   head BN 1,024 + FC 512*5 + 5 = 3,589                       total 5,945,799
def test_caffe_param_count():
  blocks = [86_208, 279_040, 1_115_136, 4_458_496]
  assert 2 + 3_200 + 128 + sum(blocks) + 1_024 + 2_565 == 5_945_799
  model = build("micro_attention", {"stem_conv_bias": True}, 5)
  assert count_params(abstract_params(model, (1, 224, 224, 1))) == 5_945_799


def test_default_drops_the_stem_bias_before_bn():
  info = describe(build("micro_attention", {}, 5), {"image": (1, 224, 224, 1)})
  assert info["params"] == 5_945_799 - 64
  assert info["outputs"] == {"logits": (1, 5), "features": (1, 512)}


def test_caffe_ceil_mode_pool():
  x = jnp.zeros((1, 112, 112, 1))
  chex.assert_shape(micro_attention.caffe_max_pool(x, 3, 2), (1, 56, 56, 1))


def test_forward_train_and_eval():
  model = micro_attention.MicroAttentionNet(num_classes=5, widths=(8, 16, 16, 32))
  batch = {"image": jax.random.normal(jax.random.key(2), (2, 64, 64, 1))}
  abstract = jax.eval_shape(lambda b: model.init(RNGS, b, train=False), batch)
  rng = np.random.default_rng(0)
  variables = {
      "params": jax.tree.map(lambda s: jnp.asarray(rng.normal(0.0, 0.1, s.shape), jnp.float32),
                             abstract["params"]),
      "batch_stats": jax.tree_util.tree_map_with_path(
          lambda path, s: jnp.full(s.shape, float(path[-1].key == "var"), jnp.float32),
          abstract["batch_stats"]),
  }

  def run(variables, batch):
    out_train, updates = model.apply(variables, batch, train=True, mutable=["batch_stats"])
    return out_train, updates, model.apply(variables, batch, train=False)

  # Randomly initialised variables (compiling `init` is slow) and an unoptimised compile.
  out_train, updates, out_eval = jax.jit(run).lower(variables, batch).compile(
      {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
  )(variables, batch)
  for out in (out_train, out_eval):
    chex.assert_shape(out["logits"], (2, 5))
    chex.assert_shape(out["features"], (2, 32))
    chex.assert_tree_all_finite(out)
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                         variables["batch_stats"], updates["batch_stats"])
  assert all(jax.tree.leaves(changed))


def test_full_size_output_shapes():
  model = build("micro_attention", {"concat_activated": True, "shortcut_from_preact": False}, 5)
  image = jax.ShapeDtypeStruct((2, 224, 224, 1), jnp.float32)
  out = jax.eval_shape(
      lambda im: model.apply(model.init(RNGS, {"image": im}, train=False), {"image": im},
                             train=False), image)
  chex.assert_shape(out["logits"], (2, 5))
  chex.assert_shape(out["features"], (2, 512))


def test_unknown_key():
  with pytest.raises(MerjaxError):
    build("micro_attention", {"bogus": 1}, 5)

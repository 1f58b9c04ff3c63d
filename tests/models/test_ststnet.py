import chex
import jax
import jax.numpy as jnp

from merjax.models import summary
from merjax.models.ststnet import STSTNet


def test_parameter_count_matches_official_code():
  info = summary.describe(STSTNet(num_classes=3), {"image": (1, 28, 28, 3)})
  # 3 convs: (27+1)*3 + (27+1)*5 + (27+1)*8 = 448; BN 2*16 = 32; linear 400*3+3 = 1203.
  assert info["params"] == 1683
  assert info["outputs"]["logits"] == (1, 3)


def test_shapes_train_and_eval():
  model = STSTNet(num_classes=5)
  x = {"image": jnp.ones((2, 28, 28, 3))}
  variables = model.init({"params": jax.random.key(0)}, x, train=False)
  chex.assert_shape(variables["params"]["Dense_0"]["kernel"], (400, 5))
  out, mutated = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(1)},
                             mutable=["batch_stats"])
  chex.assert_shape(out["logits"], (2, 5))
  changed = jax.tree.map(lambda a, b: bool((a != b).any()), mutated["batch_stats"],
                         variables["batch_stats"])
  assert any(jax.tree.leaves(changed))
  chex.assert_shape(model.apply(variables, x, train=False)["logits"], (2, 5))

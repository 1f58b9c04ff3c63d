import chex
from flax import linen as nn
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


class _ThreeStreams(nn.Module):
  """The official layout, written naively: three convs, BNs and pools."""

  @nn.compact
  def __call__(self, batch, train: bool):
    x = batch["image"]
    streams = []
    for width in (3, 5, 8):
      h = nn.relu(nn.Conv(width, (3, 3), padding=2)(x))
      h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)(h)
      streams.append(nn.max_pool(h, (3, 3), strides=(3, 3), padding=((1, 1), (1, 1))))
    h = nn.avg_pool(jnp.concatenate(streams, -1), (2, 2), strides=(2, 2))
    return {"logits": nn.Dense(3)(h.reshape(h.shape[0], -1))}


def test_fused_streams_equal_three_separate_streams():
  x = {"image": jax.random.normal(jax.random.key(2), (4, 28, 28, 3))}
  naive = _ThreeStreams()
  v = naive.init(jax.random.key(0), x, train=False)
  p, s = v["params"], v["batch_stats"]
  cat = lambda name, tree, key: jnp.concatenate([tree[f"{name}_{i}"][key] for i in range(3)], -1)
  fused = {"params": {
      "streams_conv": {"kernel": cat("Conv", p, "kernel"), "bias": cat("Conv", p, "bias")},
      "streams_bn": {"scale": cat("BatchNorm", p, "scale"), "bias": cat("BatchNorm", p, "bias")},
      "Dense_0": p["Dense_0"]},
      "batch_stats": {"streams_bn": {"mean": cat("BatchNorm", s, "mean"),
                                     "var": cat("BatchNorm", s, "var")}}}
  for impl in ("patches", "xla"):
    model = STSTNet(num_classes=3, dropout=0.0, conv_impl=impl)
    for train in (False, True):
      ours = model.apply(fused, x, train=train, mutable=["batch_stats"])[0]["logits"]
      ref = naive.apply(v, x, train=train, mutable=["batch_stats"])[0]["logits"]
      assert jnp.allclose(ours, ref, atol=1e-4), (impl, train)

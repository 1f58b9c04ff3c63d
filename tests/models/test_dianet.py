"""DIANet: shapes for every backbone / fusion / sharing mode, parameter deltas by hand,
attention and the consistency loss against hand-computed values, one real tiny forward."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.configs.dianet import TINY_BACKBONES
from merjax.errors import MerjaxError
from merjax.models import dianet
from merjax.models.summary import count_params
from merjax.training import losses
from merjax.models.testing import jit_unoptimized as _jit, materialize as _materialize
from merjax.models.testing import build

TWO = ("di_onset", "di_offset")
TINY = {"backbone": "resnet18", "backbone_options": TINY_BACKBONES, "feature_dim": 16,
        "fusion_dim": 16, "mlp_hidden": 16}


def _init_shapes(model, size, roles=TWO, b=2):
  """(outputs, variables) as ShapeDtypeStructs, eval mode; no FLOPs."""
  batch = {r: jax.ShapeDtypeStruct((b, size, size, 3), jnp.float32) for r in roles}
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  return jax.eval_shape(lambda x: model.init_with_output(rngs, x, train=False), batch)






@pytest.mark.parametrize("backbone", ["efficientnetv2_s", "resnet18", "convnext_tiny", "mobilevit_s"])
def test_full_size_shapes_every_backbone(backbone):
  out, _ = _init_shapes(build("dianet", {"backbone": backbone}, 5), 224)
  chex.assert_shape(out["logits"], (2, 5))
  chex.assert_shape([out["f1"], out["f2"]], (2, 512))
  assert out["logits"].dtype == jnp.float32


def test_shared_has_exactly_one_trunk_and_projection_fewer_params():
  # ResNet18 trunk 11,689,512 - fc 513,000 = 11,176,512; projection 512 x 512 + 512 = 262,656.
  # Shared total: trunk + proj + Q/K/V x 2 streams (6 x 262,656) + fuse_proj 1024 x 512 + 512
  # + fc1 512 x 256 + 256 + fc2 256 x 5 + 5 = 13,672,517.
  shared = _init_shapes(build("dianet", {"backbone": "resnet18"}, 5), 64)[1]["params"]
  separate = _init_shapes(build("dianet", {"backbone": "resnet18", "shared_backbone": False}, 5),
                          64)[1]["params"]
  assert count_params(shared) == 13_672_517
  assert count_params(shared["backbone"]) == 11_176_512
  assert count_params(separate) - count_params(shared) == 11_176_512 + 262_656
  assert {"backbone_onset", "backbone_offset", "proj_onset", "proj_offset"} <= set(separate)


@pytest.mark.parametrize("fusion", dianet.FUSIONS)
@pytest.mark.parametrize("shared", [True, False])
def test_fusion_and_sharing_shapes(fusion, shared):
  out, variables = _init_shapes(build("dianet", {**TINY, "fusion": fusion, "shared_backbone": shared}, 3), 32)
  chex.assert_shape(out["logits"], (2, 3))
  chex.assert_shape([out["f1"], out["f2"]], (2, 16))
  d = 16 * 16 + 16
  qkv = count_params({k: v for k, v in variables["params"].items() if k[0] in "qkv"})
  assert qkv == (6 * d if fusion.startswith("cross") else 0)


@pytest.mark.parametrize("extra", [{"cross_query": "tokens"}, {"shared_qkv": True},
                                   {"stack_streams": True}, {"num_heads": 4, "cross_residual": True},
                                   {"fusion_activation": "relu", "dtype": "bfloat16"}])
def test_options_shapes(extra):
  out, variables = _init_shapes(build("dianet", {**TINY, **extra}, 3), 32)
  chex.assert_shape(out["logits"], (2, 3))
  if extra.get("shared_qkv"):
    assert {"q", "k", "v"} <= set(variables["params"]) and "q1" not in variables["params"]


def test_one_stream_reads_image():
  out, _ = _init_shapes(build("dianet", {**TINY, "streams": 1}, 3), 32, roles=("image",))
  chex.assert_shape(out["logits"], (2, 3))
  assert "f2" not in out


def test_bad_configs_raise():
  with pytest.raises(MerjaxError, match=r"^model.fusoin: unknown field of model 'dianet'; "
                                        r"did you mean model.fusion( or .*)?\?$"):
    build("dianet", {"fusoin": "cross"}, 3)
  with pytest.raises(MerjaxError, match=r"^model.backbone_options.resnet18.width: unknown field "
                                        r"of backbone 'resnet18'; did you mean .*widths\?$"):
    build("dianet", {"backbone": "resnet18", "backbone_options": {"resnet18": {"width": 8}}}, 3)
  with pytest.raises(MerjaxError, match="^model.fusion: 'sum' is not one of"):
    build("dianet", {"fusion": "sum"}, 3)
  with pytest.raises(MerjaxError, match="^model.backbone: 'vgg19' has features wider"):
    build("dianet", {"backbone": "vgg19"}, 3)
  with pytest.raises(MerjaxError, match="^model.backbone: unknown backbone 'resnet19'; did you "
                                        "mean resnet18"):
    build("dianet", {"backbone": "resnet19"}, 3)


def test_attend_matches_numpy():
  rng = np.random.default_rng(0)
  q, k, v = (rng.normal(size=s).astype(np.float32) for s in ((2, 1, 8), (2, 5, 8), (2, 5, 8)))
  s = np.einsum("bqd,bnd->bqn", q, k) / np.sqrt(8)
  w = np.exp(s - s.max(-1, keepdims=True))
  w /= w.sum(-1, keepdims=True)
  np.testing.assert_allclose(dianet.attend(q, k, v), w @ v, rtol=1e-5, atol=1e-5)
  # One key: the weights are identically 1 and the output is the value (the literal Fig. 2).
  np.testing.assert_allclose(dianet.attend(q, k[:, :1], v[:, :1], num_heads=2), v[:, :1], rtol=1e-6)


def test_consistency_loss_hand_computed():
  outputs = {"logits": jnp.zeros((2, 2)),
             "f1": jnp.asarray([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]),
             "f2": jnp.asarray([[0.0, 3.0, 0.0], [2.0, 2.0, 0.0]])}
  labels = jnp.asarray([0, 1])
  loss, parts = losses.make_loss({"name": "dianet", "consistency_weight": 0.5})(outputs, {}, labels)
  # CE of uniform logits over 2 classes = ln 2; cos = 0 and 1 -> mean(1 - cos) = 0.5.
  assert float(parts["ce"]) == pytest.approx(np.log(2.0), rel=1e-6)
  assert float(parts["consistency"]) == pytest.approx(0.5, rel=1e-6)
  assert float(loss) == pytest.approx(np.log(2.0) + 0.25, rel=1e-6)
  default, _ = losses.make_loss({"name": "dianet"})(outputs, {}, labels)
  assert float(default) == pytest.approx(np.log(2.0) + 0.05, rel=1e-6)   # lambda 0.1
  grads = jax.grad(lambda f: losses.dianet({**outputs, "f1": f}, {}, labels)[0])(jnp.zeros((2, 3)))
  assert np.isfinite(np.asarray(grads)).all()                             # zero vector: no NaN
  with pytest.raises(MerjaxError, match="f1 and f2"):
    losses.dianet({"logits": outputs["logits"], "f1": outputs["f1"]}, {}, labels)


def test_tiny_forward_train_eval_and_literal_degeneracy():
  rng = np.random.default_rng(0)
  batch = {r: jnp.asarray(rng.normal(size=(2, 64, 64, 3)), jnp.float32) for r in TWO}
  results = {}
  for fusion in ("cross", "cross_literal"):
    model = build("dianet", {**TINY, "fusion": fusion}, 3)
    variables = _materialize(_init_shapes(model, 64)[1])
    apply = _jit(model.apply, static_argnames="train")
    out = apply(variables, batch, train=False)
    chex.assert_shape(out["logits"], (2, 3))
    chex.assert_tree_all_finite(out)
    # New query weights: the literal block ignores them (softmax over one key is 1).
    params = dict(variables["params"])
    for q in ("q1", "q2"):
      params[q] = jax.tree.map(lambda x: x + 1.0, params[q])
    out_q = apply({**variables, "params": params}, batch, train=False)
    results[fusion] = np.abs(np.asarray(out_q["logits"] - out["logits"])).max()
    if fusion == "cross":
      out_tr, updates = _jit(lambda v, b, model=model: model.apply(
          v, b, train=True, rngs={"dropout": jax.random.key(0)}, mutable=["batch_stats"]))(
              variables, batch)
      chex.assert_tree_all_finite(out_tr)
      chex.assert_trees_all_equal_shapes(updates["batch_stats"], variables["batch_stats"])
  assert results["cross_literal"] < 1e-6
  assert results["cross"] > 1e-4

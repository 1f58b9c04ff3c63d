"""ImageNet backbones: exact parameter counts of the full models (abstractly, via
jax.eval_shape) and real train/eval forward passes of small configurations of the same
modules (the full nets compile too slowly on a shared CPU)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.models import backbones
from merjax.models.backbones import common, convnext, efficientnet, mobilevit, resnet, vgg
from merjax.models.registry import build_model
from merjax.models.summary import count_params

RNGS = {"params": jax.random.key(0), "dropout": jax.random.key(1)}


def abstract_run(model, shape, train=True):
  """(abstract variables, abstract outputs, abstract updated batch_stats); no FLOPs."""
  image = jax.ShapeDtypeStruct(shape, jnp.float32)

  def run(image):
    variables = model.init(RNGS, {"image": image}, train=False)
    out, updates = model.apply(variables, {"image": image}, train=train,
                               rngs={"dropout": RNGS["dropout"]}, mutable=["batch_stats"])
    return variables, out, updates

  return jax.eval_shape(run, image)


# Expected counts with 1000 classes at 224 x 224 x 3 (torchvision `num_params` metadata),
# MobileViT-S at timm's 256 x 256 (the count does not depend on the input size).
#
# MobileViT-S, derived from timm's mobilevit_s ByobNet config (conv+BN = k*k*in/groups*out + 2*out):
#   stem 3x3 3->16                                             464
#   stage0 IR 16->32 (mid 64):   1x1 1,152 + dw 704 + 1x1 2,112  3,968
#   stage1 IR 32->64 (mid 128):  4,352 + 1,408 + 8,320          14,080
#          2 x IR 64->64 (mid 256): 2 x (16,896 + 2,816 + 16,512)  72,448
#   stage2 IR 64->96 (mid 256):  16,896 + 2,816 + 24,768        44,480
#          MobileViT(96, d=144, 2 layers):
#            3x3 96->96 83,136 + 1x1 96->144 13,824
#            + 2 x layer(LN 288 + qkv 62,640 + proj 20,880 + LN 288 + fc1 41,760 + fc2 41,616 = 167,472)
#            + LN 288 + 1x1 144->96 14,016 + 3x3 192->96 166,080             612,288
#   stage3 IR 96->128 (mid 384): 37,632 + 4,224 + 49,408        91,264
#          MobileViT(128, d=192, 4 layers): 147,712 + 24,576 + 4 x 297,024 + 384
#            + 24,832 + 295,168                                 1,680,768
#   stage4 IR 128->160 (mid 512): 66,560 + 5,632 + 82,240       154,432
#          MobileViT(160, d=240, 3 layers): 230,720 + 38,400 + 3 x 463,440 + 480
#            + 38,720 + 461,120                                 2,159,760
#   final 1x1 160->640 103,680; head 640*1000 + 1000 = 641,000
#   total                                                       5,578,632  (timm: "5.6M")
EXPECTED = [
    ("vgg19", 143_667_240, 224),
    ("resnet18", 11_689_512, 224),
    ("resnet50", 25_557_032, 224),
    ("efficientnet_b0", 5_288_548, 224),
    ("efficientnetv2_s", 21_458_488, 224),
    ("convnext_tiny", 28_589_128, 224),
    ("mobilevit_s", 5_578_632, 256),
]
FEATURES = {"vgg19": 4096, "resnet18": 512, "resnet50": 2048, "efficientnet_b0": 1280,
            "efficientnetv2_s": 1280, "convnext_tiny": 768, "mobilevit_s": 640}


@pytest.mark.parametrize("name,expected,size", EXPECTED)
def test_full_model_param_count_and_shapes(name, expected, size):
  variables, out, updates = abstract_run(build_model({"name": name}, 1000), (2, size, size, 3))
  assert count_params(variables["params"]) == expected
  chex.assert_shape(out["logits"], (2, 1000))
  chex.assert_shape(out["features"], (2, FEATURES[name]))
  if name not in ("vgg19", "convnext_tiny"):  # no BatchNorm in these two
    assert jax.tree.structure(updates["batch_stats"]) == jax.tree.structure(variables["batch_stats"])


def test_mobilevit_sum_matches_derivation():
  parts = [464, 3_968, 14_080, 72_448, 44_480, 612_288, 91_264, 1_680_768, 154_432, 2_159_760,
           103_680, 641_000]
  assert sum(parts) == 5_578_632


def test_small_inputs_and_feature_maps():
  """Full nets accept 32 x 32 (VGG repeats its 1 x 1 map to 7 x 7; MobileViT interpolates
  1 x 1 maps to one 2 x 2 patch)."""
  for name in ("vgg19", "mobilevit_s"):
    model = build_model({"name": name, "return_feature_map": True}, 3)
    _, out, _ = abstract_run(model, (2, 32, 32, 3))
    chex.assert_shape(out["logits"], (2, 3))
    assert out["feature_map"].shape[:3] == (2, 1, 1), name


def test_bfloat16_compute_keeps_float32_params():
  model = build_model({"name": "resnet18", "dtype": "bfloat16", "return_feature_map": True}, 3)
  variables, out, _ = abstract_run(model, (2, 32, 32, 3))
  assert {x.dtype for x in jax.tree.leaves(variables["params"])} == {jnp.dtype(jnp.float32)}
  assert out["feature_map"].dtype == jnp.bfloat16
  assert out["logits"].dtype == jnp.float32


def test_unknown_config_key_is_an_error():
  with pytest.raises(MerjaxError, match=r"^model.depth: unknown field of model 'resnet50'; "
                                        r"did you mean model.depths\?|fields: "):
    build_model({"name": "resnet50", "depth": 50}, 3)
  with pytest.raises(MerjaxError, match=r"^model.stage_size: unknown field of model 'resnet50'; "
                                        r"did you mean model.stage_sizes\?$"):
    build_model({"name": "resnet50", "stage_size": [1, 1, 1, 1]}, 3)


def test_every_backbone_is_a_registered_model_with_its_fields():
  """One table: `--model <backbone>` and DIANet read the same entries."""
  from merjax.models import registry  # pylint: disable=import-outside-toplevel
  assert set(backbones.BACKBONES) <= set(registry.MODELS)
  for name in backbones.BACKBONES:
    fields = registry.model_fields(name)
    assert {"dropout", "drop_path" if name in ("convnext_tiny", "efficientnet_b0",
                                                "efficientnetv2_s", "mobilevit_s")
            else "dtype", "return_feature_map"} <= fields, name
  # VGG's `dropout` is the trunk's fc6/fc7 dropout (torchvision's); the others' the head's.
  vgg_model = build_model({"name": "vgg19", "dropout": 0.3}, 3)
  assert vgg_model.backbone.dropout == 0.3 and vgg_model.dropout == 0.0
  eff = build_model({"name": "efficientnet_b0"}, 3)
  assert eff.dropout == 0.2 and eff.backbone.drop_path == 0.2


def test_adaptive_pool_matches_torch_bins():
  x = jnp.arange(5.0).reshape(1, 5, 1, 1) * jnp.ones((1, 1, 3, 1))
  y = common.adaptive_avg_pool(x, 3, 3)[0, :, 0, 0]
  np.testing.assert_allclose(y, [0.5, 2.0, 3.5])  # bins [0,2), [1,4), [3,5)


# Small configurations of the same modules for real forward passes.
TINY = {
    "resnet_basic": (lambda: resnet.ResNet(stage_sizes=(1, 1, 1, 1), widths=(8, 8, 16, 16)), 32),
    "resnet_bottleneck": (lambda: resnet.ResNet(stage_sizes=(1, 2), bottleneck=True, widths=(8, 16)), 32),
    "vgg": (lambda: vgg.VGG(config=(8, "M", 16, "M"), hidden=16), 32),
    "efficientnet": (lambda: efficientnet.EfficientNet(
        blocks=(("fused", 1, 3, 1, 8, 8, 1), ("fused", 4, 3, 2, 8, 16, 1),
                ("mbconv", 1, 3, 1, 16, 16, 1), ("mbconv", 4, 5, 2, 16, 24, 2)),
        last_channel=32, bn_eps=1e-3), 32),
    "convnext": (lambda: convnext.ConvNeXt(depths=(1, 2), dims=(8, 16)), 32),
    "mobilevit": (lambda: mobilevit.MobileViT(
        stages=((8, 1, 1, None, 0), (16, 2, 1, 24, 1)), stem_channels=8, num_features=32,
        drop_path=0.1), 36),  # 36 -> 18 -> 9: odd map, patch interpolation path
}


def quick_variables(model, batch, seed=0):
  """Random variables without compiling `init` (its random initialisers compile slowly):
  params ~ N(0, 0.1^2), BN running means 0 and variances 1."""
  abstract = jax.eval_shape(lambda b: model.init(RNGS, b, train=False), batch)
  rng = np.random.default_rng(seed)
  params = jax.tree.map(
      lambda s: jnp.asarray(rng.normal(0.0, 0.1, s.shape), jnp.float32), abstract["params"])
  stats = jax.tree_util.tree_map_with_path(
      lambda path, s: jnp.full(s.shape, float(path[-1].key == "var"), jnp.float32),
      abstract.get("batch_stats", {}))
  return {"params": params, **({"batch_stats": stats} if stats else {})}


def forward_train_and_eval(model, variables, batch):
  """(train outputs, updated batch_stats, eval outputs), one cheaply compiled program."""
  def run(variables, batch):
    out_train, updates = model.apply(variables, batch, train=True,
                                     rngs={"dropout": jax.random.key(4)}, mutable=["batch_stats"])
    return out_train, updates, model.apply(variables, batch, train=False)

  compiled = jax.jit(run).lower(variables, batch).compile(
      {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True})
  return compiled(variables, batch)


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_forward_train_and_eval(name):
  make_trunk, size = TINY[name]
  model = common.Classifier(backbone=make_trunk(), num_classes=3, dropout=0.2,
                            return_feature_map=True)
  batch = {"image": jax.random.normal(jax.random.key(3), (2, size, size, 3))}
  variables = quick_variables(model, batch)
  out_train, updates, out_eval = forward_train_and_eval(model, variables, batch)
  for out in (out_train, out_eval):
    chex.assert_shape(out["logits"], (2, 3))
    assert out["features"].shape[0] == 2 and out["features"].ndim == 2
    assert out["feature_map"].ndim == 4
    chex.assert_tree_all_finite(out)
  assert not jnp.allclose(out_train["logits"], out_eval["logits"])
  if "batch_stats" in variables:
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                           variables["batch_stats"], updates["batch_stats"])
    assert all(jax.tree.leaves(changed))

"""FDP (paper) and FDP (release) models, FDP losses, and the rank-sum significance test.

Big models are only traced (jax.eval_shape); real forward passes run at tiny widths, jitted once.
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from merjax.errors import MerjaxError
from merjax.evaluation.significance import ranksums
from merjax.models import fdp, fdp_release
from merjax.models.summary import count_params
from merjax.training.fdp_losses import dic_loss, fdp_loss, rank_loss
from merjax.models.testing import build

RNGS = {"params": jax.random.key(0), "dropout": jax.random.key(1)}


def _sds(*shape):
  return jax.ShapeDtypeStruct(shape, jnp.float32)


def _abstract_init(module, *args, **kwargs):
  return jax.eval_shape(lambda *a: module.init(RNGS, *a, **kwargs), *args)


def _abstract_init_with_output(module, *args, **kwargs):
  """(outputs, variables) of `init`, traced once."""
  return jax.eval_shape(lambda *a: module.init_with_output(RNGS, *a, **kwargs), *args)


def _abstract_apply(module, variables, *args, **kwargs):
  return jax.eval_shape(lambda v, *a: module.apply(v, *a, **kwargs), variables, *args)


def _shapes(tree):
  return jax.tree.map(lambda x: tuple(x.shape), tree)


# ---------------------------------------------------------------- fdp_release (released code)

@pytest.fixture(scope="module")
def release_abstract():
  model = build("fdp_release", {}, 5)
  batch = {"frames": _sds(1, 8, 64, 64, 1)}
  return _abstract_init_with_output(model, batch, train=False)


def test_release_parameter_counts(release_abstract):
  _, variables = release_abstract
  p = variables["params"]
  assert count_params(p) == 85_304_206
  assert count_params(p["frame_rep"]) == 54_952_448
  assert count_params({k: p[k] for k in ("conv3d", "fc1", "fc2")}) == 905_293
  assert count_params(p["dyimg_net"]) == 29_446_465
  enc = p["frame_rep"]
  assert count_params(enc["stem"]) == 74_752
  stage = lambda s: count_params({k: v for k, v in enc.items() if k.startswith(f"stage{s}_")})
  assert [stage(s) for s in (1, 2, 3, 4)] == [422_784, 2_235_264, 22_215_936, 26_852_352]
  assert count_params(enc) - count_params(enc["proj_head"]) == 51_802_624
  # 20 LFA blocks, dense 3x3 "MHCA" (no groups), no attention anywhere.
  assert sum(k.startswith("stage") for k in enc) == 20
  assert enc["stage3_block5"]["mhca"]["kernel"].shape == (3, 3, 384, 384)
  assert p["conv3d"]["kernel"].shape == (3, 3, 8, 1, 8)
  assert p["fc1"]["kernel"].shape == (3528, 256)
  assert "bias" in p["dyimg_net"]["conv11"]  # release: conv bias before BN, kept for the count


def test_release_output_shapes(release_abstract):
  out, _ = release_abstract
  assert _shapes(out) == {"logits": (1, 5), "dynamic_image": (1, 64, 64, 1),
                          "frame_features": (1, 8, 4096)}


def test_release_max_pool_unpool():
  x = jnp.array([[1., 5., 2., 2.], [3., 4., 0., -1.]]).reshape(1, 2, 4, 1)
  pooled, mask = fdp_release.max_pool_2x2_with_mask(x)
  np.testing.assert_array_equal(pooled.reshape(-1), [5., 2.])
  up = fdp_release.max_unpool_2x2(pooled, mask)
  # Ties keep the first element in the window (row-major), as a first-argmax.
  np.testing.assert_array_equal(up.reshape(2, 4), [[0., 5., 2., 0.], [0., 0., 0., 0.]])
  assert fdp_release.make_divisible(96 * 3, 32) == 288
  assert fdp_release.make_divisible(768 * 3, 32) == 2304


# ---------------------------------------------------------------- fdp (paper), per stage

def test_stem_shape():
  stem = fdp.ConvStem()
  v = _abstract_init(stem, _sds(2, 64, 64, 1), train=False)
  chex.assert_shape(_abstract_apply(stem, v, _sds(2, 64, 64, 1), train=False), (2, 16, 16, 64))


def test_local_aggregator_is_multi_head():
  block = fdp.LocalAggregator(head_dim=8)
  v = _abstract_init(block, _sds(2, 16, 16, 96), train=False)
  chex.assert_shape(_abstract_apply(block, v, _sds(2, 16, 16, 96), train=False), (2, 16, 16, 96))
  mhc = v["params"]["MultiHeadConv_0"]
  assert mhc["head_convs"]["kernel"].shape == (3, 3, 8, 96)  # 12 heads of 8 channels
  assert "bias" not in mhc["head_convs"]
  assert mhc["pointwise"]["kernel"].shape == (1, 1, 96, 96)
  assert v["batch_stats"]["MultiHeadConv_0"]["head_bn"]["mean"].shape == (96,)


def test_global_aggregator_shape():
  block = fdp.GlobalAggregator(attn_head_dim=8, conv_head_dim=8)
  v = _abstract_init(block, _sds(2, 8, 8, 32), train=False)
  chex.assert_shape(_abstract_apply(block, v, _sds(2, 8, 8, 32), train=False), (2, 8, 8, 32))
  assert v["params"]["mhsa"]["query"]["kernel"].shape == (32, 4, 8)  # 4 heads of dim 8


def test_frame_encoder_and_ablations():
  x = _sds(2, 32, 32, 1)
  tiny = dict(stem_widths=(4,), stem_strides=(2,), widths=(8, 16), strides=(1, 2),
              feature_dim=64)
  enc = fdp.FrameEncoder(**tiny)
  v = _abstract_init(enc, x, train=False)
  chex.assert_shape(_abstract_apply(enc, v, x, train=False), (2, 64))
  names = set(v["params"])
  assert {"stage1_pe", "stage1_local1", "stage1_local2", "stage1_global1", "stage2_global1",
          "head_bn", "proj"} <= names
  no_local = _abstract_init(fdp.FrameEncoder(**tiny, use_local=False), x, train=False)["params"]
  no_global = _abstract_init(fdp.FrameEncoder(**tiny, use_global=False), x, train=False)["params"]
  assert not any("local" in k for k in no_local) and "stage2_global1" in no_local
  assert not any("global" in k for k in no_global) and "stage2_local2" in no_global
  no_proj = fdp.FrameEncoder(**(tiny | {"feature_dim": 0}))
  v = _abstract_init(no_proj, x, train=False)
  chex.assert_shape(_abstract_apply(no_proj, v, x, train=False), (2, 16))  # GAP of last stage


def test_temporal_pooling_mer_head_and_decoder_shapes():
  pool = fdp.TemporalPooling(channels=8)
  v = _abstract_init(pool, _sds(2, 8, 4096))
  assert v["params"]["Conv_0"]["kernel"].shape == (8, 3, 3, 1, 8)  # kernel spans all T frames
  fd = _abstract_apply(pool, v, _sds(2, 8, 4096))
  chex.assert_shape(fd, (2, 64, 64, 8))
  head = fdp.MERHead(num_classes=5)
  v = _abstract_init(head, fd, train=False)
  assert v["params"]["Dense_0"]["kernel"].shape == (21 * 21 * 8, 256)
  chex.assert_shape(_abstract_apply(head, v, fd, train=False), (2, 5))
  dic = fdp.DynamicImageNet()
  v = _abstract_init(dic, fd, train=False)
  assert v["params"]["up4"]["kernel"].shape == (2, 2, 512, 512)
  chex.assert_shape(_abstract_apply(dic, v, fd, train=False), (2, 64, 64, 1))


def test_default_model_outputs():
  model = build("fdp", {}, 5)
  batch = {"frames": _sds(2, 8, 64, 64, 1)}
  out, v = _abstract_init_with_output(model, batch, train=False)
  assert _shapes(out) == {"logits": (2, 5), "dynamic_image": (2, 64, 64, 1),
                          "rank_scores": (2, 8)}
  assert v["params"]["rank_scorer"]["kernel"].shape == (4096, 1)
  assert "bias" not in v["params"]["rank_scorer"]
  ablated = build("fdp", {"use_dic": False, "use_rank": False}, 5)
  out, v = _abstract_init_with_output(ablated, {"frames": _sds(1, 2, 32, 32, 1)}, train=False)
  assert set(v["params"]) == {"encoder", "temporal_pooling", "mer"}
  assert _shapes(out) == {"logits": (1, 5)}


def _fill(shapes, seed=0):
  """Concrete variables without running flax init (cheap on a busy CPU): BN var 1, mean 0."""
  rs = np.random.RandomState(seed)
  def leaf(path, s):
    name = jax.tree_util.keystr(path)
    if "batch_stats" in name:
      return jnp.full(s.shape, 1.0 if name.endswith("['var']") else 0.0, s.dtype)
    return jnp.asarray(rs.normal(0.0, 0.2, s.shape), s.dtype)
  return jax.tree_util.tree_map_with_path(leaf, shapes)


def test_tiny_forward_train_vs_eval():
  model = build("fdp", dict(stem_widths=(8,), stem_strides=(2,), widths=(8, 8), strides=(1, 2),
                         num_local=1, feature_dim=256, dic_widths=(4, 8), mer_hidden=8,
                         temporal_channels=2, mer_dropout=0.5), 3)
  frames = jnp.asarray(np.random.RandomState(1).rand(2, 4, 16, 16, 1), jnp.float32)
  batch = {"frames": frames}
  v = _fill(_abstract_init(model, batch, train=False))

  @jax.jit
  def run(v, batch, key):
    out_eval = model.apply(v, batch, train=False)
    out_train, upd = model.apply(v, batch, train=True, rngs={"dropout": key},
                                 mutable=["batch_stats"])
    return out_eval, out_train, upd

  out_eval, out_train, upd = run(v, batch, jax.random.key(2, impl="rbg"))
  for out in (out_eval, out_train):
    chex.assert_shape(out["logits"], (2, 3))
    chex.assert_shape(out["rank_scores"], (2, 4))
    chex.assert_shape(out["dynamic_image"], (2, 16, 16, 1))  # 16x16 F^(d) map == frame size
    chex.assert_tree_all_finite(out)
    assert float(out["dynamic_image"].min()) > 0.0 and float(out["dynamic_image"].max()) < 1.0
  # Train mode normalises with batch statistics and updates the running ones.
  assert not np.allclose(out_eval["logits"], out_train["logits"])
  changed = jax.tree.map(lambda a, b: bool((a != b).any()), upd["batch_stats"], v["batch_stats"])
  assert all(jax.tree.leaves(changed))


# ---------------------------------------------------------------- losses

def test_rank_loss_hand_computed():
  s = jnp.array([[0.5, 2.0, 2.0], [1.0, 2.0, 3.0]])
  # Default = the paper's Eq. 5, k = 0 .. t-1: targets 0, 1, 2: rows 0.5+1+0 = 1.5 and
  # 1+1+1 = 3 -> 2.25 (before the fix the default was 1-based and gave 0.75).
  np.testing.assert_allclose(rank_loss(s), 2.25, rtol=1e-6)
  # c = 2 -> targets 0, 2, 4: rows 0.5+0+2 = 2.5 and 1+0+1 = 2 -> 2.25.
  np.testing.assert_allclose(rank_loss(s, c=2.0), 2.25, rtol=1e-6)
  # 1-based k = 1, 2, 3: rows |1-.5|+|2-2|+|3-2| = 1.5 and 0 -> mean 0.75.
  np.testing.assert_allclose(rank_loss(s, first_index=1), 0.75, rtol=1e-6)


def test_dic_loss_hand_computed():
  pred = jnp.array([0.5, 0.5, 1.0, 0.0]).reshape(1, 2, 2, 1)
  target = jnp.array([0.0, 0.5, 1.0, 1.0]).reshape(1, 2, 2, 1)
  np.testing.assert_allclose(dic_loss(pred, target), (0.25 + 0 + 0 + 1) / 4, rtol=1e-6)


def test_fdp_loss_hand_computed():
  outputs = {
      "logits": jnp.array([[math.log(3.0), 0.0], [0.0, 0.0]]),
      "dynamic_image": jnp.array([0.5, 0.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).reshape(2, 2, 2, 1),
      "rank_scores": jnp.array([[0.5, 2.0, 2.0], [1.0, 2.0, 3.0]]),
  }
  labels = jnp.array([0, 1])
  batch = {"dynamic_image": jnp.array([0., 0.5, 1., 1., 0., 0., 0., 0.]).reshape(2, 2, 2, 1)}
  ce = (-math.log(0.75) + math.log(2.0)) / 2
  dic = (0.25 + 1.0) / 8
  loss, aux = fdp_loss(outputs, batch, labels)
  np.testing.assert_allclose(aux["ce"], ce, rtol=1e-6)
  np.testing.assert_allclose(aux["dic"], dic, rtol=1e-6)
  np.testing.assert_allclose(aux["rank"], 2.25, rtol=1e-6)        # k = 0, 1, 2 (Eq. 5)
  np.testing.assert_allclose(loss, ce + 100 * dic + 0.1 * 2.25, rtol=1e-6)
  np.testing.assert_allclose(aux["loss"], loss)
  loss2, _ = fdp_loss(outputs, batch, labels, lambda_d=1.0, lambda_r=1.0, c=2.0)
  np.testing.assert_allclose(loss2, ce + dic + 2.25, rtol=1e-6)
  # Ablated model (no DI, no rank scores): the terms are zero.
  loss3, aux3 = fdp_loss({"logits": outputs["logits"]}, {}, labels)
  np.testing.assert_allclose(loss3, ce, rtol=1e-6)
  assert float(aux3["dic"]) == 0.0 and float(aux3["rank"]) == 0.0


# ---------------------------------------------------------------- significance

def test_ranksums_matches_scipy():
  x = [0.81, 0.75, 0.75, 0.92, 0.66, 0.70, 0.88]
  y = [0.61, 0.75, 0.58, 0.70, 0.64, 0.49]
  for alt in ("greater", "less", "two-sided"):
    ours = ranksums(x, y, alternative=alt)
    ref = scipy.stats.ranksums(x, y, alternative=alt)
    np.testing.assert_allclose(ours.statistic, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(ours.pvalue, ref.pvalue, rtol=1e-10)


def test_ranksums_reproduces_fdp_tables():
  # Tables 12/13: two columns of m values, every x above every y, one-sided.
  for m, stat, p in ((3, 1.964, 2.477e-2), (4, 2.309, 1.046e-2), (5, 2.611, 4.512e-3),
                     (17, 4.977, 3.227e-7)):
    res = ranksums(np.arange(m) + 100.0, np.arange(m))
    assert abs(res.statistic - stat) < 5e-4
    np.testing.assert_allclose(res.pvalue, p, rtol=2e-3)
  with pytest.raises(MerjaxError):
    ranksums([1.0], [2.0], alternative="bigger")
  with pytest.raises(MerjaxError):
    ranksums([], [2.0])


def test_conv_modes_of_table10():
  """C* (multi-head), C' (single head + BN + ReLU + pointwise), C (one dense conv)."""
  batch = {"frames": _sds(1, 2, 16, 16, 1)}
  small = dict(stem_widths=(8,), stem_strides=(2,), widths=(16,), strides=(1,), num_global=0,
               feature_dim=16, mer_pool=2, dic_widths=(4,))
  kernels = {}
  for mode in fdp.CONV_MODES:
    v = _abstract_init(build("fdp", dict(small, conv_mode=mode), 3), batch, train=False)
    block = v["params"]["encoder"]["stage1_local1"]["MultiHeadConv_0"]
    kernels[mode] = block["head_convs"]["kernel"].shape
    assert ("pointwise" in block) == (mode != "vanilla")
  assert kernels == {"multihead": (3, 3, 8, 16), "single": (3, 3, 16, 16),
                     "vanilla": (3, 3, 16, 16)}

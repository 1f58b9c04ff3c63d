"""Mixing and flow-aware augmentation (#22.5): MixUp / CutMix against hand-computed
batches and losses, their Beta draws, per-member traced strengths with fold-parallel ==
fold alone; a flip / rotation of a TV-L1 flow field against the TV-L1 flow of the
flipped / rotated frames."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.modalities import flow, strain
from merjax.models.ststnet import STSTNet
from merjax.training import augment as augment_lib
from merjax.training import hparams as hparams_lib
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib


# ---------------------------------------------------------------- MixUp / CutMix

def test_mix_inputs_hand_computed():
  """Sample 0: MixUp with sample 1 at lam 0.25; sample 1: CutMix, rows 1-2 x cols 0-1
  pasted from sample 0 (lam 1 - 4/16), the same box in every frame of a frames role."""
  a = np.stack([np.full((4, 4, 1), 1.0), np.full((4, 4, 1), 3.0)]).astype(np.float32)
  f = np.stack([np.full((2, 4, 4, 1), 10.0), np.full((2, 4, 4, 1), 30.0)]).astype(np.float32)
  draws = {"partner_B": jnp.asarray([1, 0]), "lam_B": jnp.asarray([0.25, 0.75]),
           "cut_B": jnp.asarray([False, True]),
           "box_Bx4": jnp.asarray([[0, 0, 0, 0], [1, 3, 0, 2]])}
  out = augment_lib.mix_inputs({"a": a, "f": f}, draws, (4, 4))
  np.testing.assert_allclose(out["a"][0], 2.5)                   # 0.25 * 1 + 0.75 * 3
  np.testing.assert_allclose(out["f"][0], 25.0)                  # 0.25 * 10 + 0.75 * 30
  want = np.full((4, 4), 3.0)
  want[1:3, 0:2] = 1.0
  np.testing.assert_array_equal(out["a"][1, ..., 0], want)
  for t in range(2):
    np.testing.assert_array_equal(out["f"][1, t, ..., 0], want * 10)


def test_cutmix_box_and_lambda_from_a_fixed_key():
  """Every sample's changed pixels form one box, the same in both roles, filled from its
  partner; lam is 1 - box area / (H W) exactly; labels mix with the partner's."""
  b, h, w = 16, 6, 8
  level = np.arange(1, b + 1, dtype=np.float32)
  batch = {"a": np.broadcast_to(level[:, None, None, None], (b, h, w, 1)).copy(),
           "b": np.broadcast_to(-level[:, None, None, None], (b, h, w, 2)).copy()}
  out, partner, lam = augment_lib.mix_batch(jax.random.key(3), batch, {"cutmix_alpha": 1.0})
  out, partner, lam = jax.tree.map(np.asarray, (out, partner, lam))
  boxed = 0
  for i in range(b):
    changed = out["a"][i, ..., 0] != level[i]
    np.testing.assert_array_equal(changed, (out["b"][i] != -level[i]).any(-1))
    if partner[i] == i or not changed.any():
      assert lam[i] == 1.0 or partner[i] == i
      continue
    rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
    assert changed[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()     # a full box
    assert lam[i] == pytest.approx(1 - changed.sum() / (h * w), abs=1e-7)
    np.testing.assert_array_equal(out["a"][i, ..., 0][changed], level[partner[i]])
    boxed += 1
  assert boxed >= b // 2 and len(set(partner.tolist())) == b


def test_mixup_lambda_per_sample_is_beta_alpha_alpha():
  """lam = (out - x[partner]) / (x - x[partner]) equals the returned lam in every role;
  over many samples it has Beta(0.4, 0.4)'s mean 1/2 and variance 1 / (4 (2 alpha + 1))
  (a uniform lam would give 1/12)."""
  b = 4096
  level = np.arange(b, dtype=np.float32)
  batch = {"a": level[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32),
           "b": 2 * level[:, None, None, None] * np.ones((1, 2, 2, 3), np.float32)}
  out, partner, lam = augment_lib.mix_batch(jax.random.key(0), batch, {"mixup_alpha": 0.4})
  out, partner, lam = jax.tree.map(np.asarray, (out, partner, lam))
  moved = partner != np.arange(b)
  lam_a = (out["a"][:, 0, 0, 0] - level[partner]) / (level - level[partner] + ~moved)
  np.testing.assert_allclose(lam_a[moved], lam[moved], atol=2e-3)
  np.testing.assert_allclose(out["b"][..., 0], 2 * out["a"][..., 0], rtol=1e-5)
  assert abs(lam.mean() - 0.5) < 0.02
  assert abs(lam.var() - 1 / (4 * 1.8)) < 0.01


def test_mixed_loss_hand_computed():
  logits = np.asarray([[2.0, 0.0, -1.0], [0.5, 0.5, 1.5]], np.float32)
  labels, partner, lam = np.asarray([0, 2]), np.asarray([1, 0]), np.asarray([0.3, 1.0])
  loss_B = losses.mixed_per_sample(losses.cross_entropy, {"logits": jnp.asarray(logits)}, {},
                                   jnp.asarray(labels), jnp.asarray(partner),
                                   jnp.asarray(lam, jnp.float32))
  logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
  want = [0.3 * -logp[0, 0] + 0.7 * -logp[0, 2], -logp[1, 2]]
  np.testing.assert_allclose(loss_B, want, rtol=1e-6)


def test_a_traced_zero_alpha_mixes_nothing():
  x = {"a": jnp.arange(3 * 4 * 4 * 1, dtype=jnp.float32).reshape(3, 4, 4, 1)}
  fn = jax.jit(lambda am, ac: augment_lib.mix_batch(
      jax.random.key(1), x, {"mixup_alpha": am, "cutmix_alpha": ac}))
  out, _, lam = fn(jnp.float32(0), jnp.float32(0))
  np.testing.assert_array_equal(out["a"], x["a"])
  np.testing.assert_array_equal(lam, 1.0)
  # A traced 0 turns its method off as a constant 0 does: every sample takes CutMix.
  out, partner, lam = fn(jnp.float32(0), jnp.float32(1))
  want = augment_lib.mix_batch(jax.random.key(1), x, {"cutmix_alpha": 1.0})
  for got, expected in zip((out["a"], partner, lam), (want[0]["a"], want[1], want[2])):
    np.testing.assert_array_equal(got, expected)
  assert (np.asarray(lam) < 1).any()
  assert hparams_lib.is_traceable("train.augment.mixup_alpha", [0.2, 1.0], {})
  assert hparams_lib.is_traceable("train.augment.cutmix_alpha", [0.0, 1.0], {})


def test_mixing_strengths_swept_per_member_fold_parallel_equals_fold_alone():
  """Two traced (mixup_alpha, cutmix_alpha) combinations x 3 folds in one group equal
  each member run alone; the strengths matter."""
  rng = np.random.default_rng(0)
  n, k = 12, 3
  y = rng.integers(0, k, n).astype(np.int32)
  with jax.enable_x64(True):
    data = {"inputs": {"image": rng.normal(size=(n, 8, 8, 3)) + y[:, None, None, None]},
            "y": y}
    subject_N = np.repeat(["s0", "s1", "s2"], 4)
    combos = [{"train.augment.mixup_alpha": 0.2, "train.augment.cutmix_alpha": 0.0},
              {"train.augment.mixup_alpha": 0.0, "train.augment.cutmix_alpha": 1.0}]
    tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N,
                                       combos=combos)
    fns = trainer_lib.FoldFunctions(
        model=STSTNet(num_classes=k, dtype=jnp.float64),
        loss_fn=losses.make_loss({"name": "cross_entropy"}),
        tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-2}), batch_size=4,
        steps_per_epoch=trainer_lib.steps_per_epoch(tables, 4), augment={"flip": True},
        augment_roles=("image",), eval_batch_size=4, param_dtype="float64",
        loss_config={"name": "cross_entropy"})
    run = lambda g: {r.member: r for r in strategies.run_members(
        fns, data, tables, epochs=2, strategy="vmap", group_size=g,
        progress=strategies.Progress(1, 2))}
    together, alone = run(len(tables)), run(1)
  assert len(together) == 6
  for m in together:
    np.testing.assert_allclose(together[m].logits, alone[m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(together[m].loss_history, alone[m].loss_history, atol=1e-10)
  assert not np.allclose(together[0].loss_history, together[3].loss_history)


# ---------------------------------------------------------------- flow-aware geometry

def _frames(size=32):
  """A smooth texture and the same texture moved by (+0.7, +0.4) px."""
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
  tex = lambda y, x: (0.5 + 0.2 * np.sin(2 * np.pi * x / 13 + 0.3) * np.cos(2 * np.pi * y / 11)
                      + 0.15 * np.sin(2 * np.pi * (x + 2 * y) / 17))
  return tex(yy, xx), tex(yy - 0.4, xx - 0.7)


def _epe(a_HxWx2, b_HxWx2):
  return float(np.sqrt(((np.asarray(a_HxWx2) - np.asarray(b_HxWx2)) ** 2).sum(-1)).mean())


@pytest.fixture(scope="module")
def tvl1():
  f0, f1 = _frames()
  return {"flow": np.asarray(flow.tvl1_flow(f0, f1, nscales=1)),
          "flipped": np.asarray(flow.tvl1_flow(f0[:, ::-1].copy(), f1[:, ::-1].copy(),
                                               nscales=1)),
          "rot90": np.asarray(flow.tvl1_flow(np.rot90(f0).copy(), np.rot90(f1).copy(),
                                             nscales=1))}


def _augment_all(x_HxWxC, config, fc, b=8, key=0):
  """The batch of b copies of x augmented (flow role "f"), and which samples changed."""
  batch = {"f": jnp.broadcast_to(jnp.asarray(x_HxWxC), (b,) + x_HxWxC.shape)}
  out = np.asarray(augment_lib.augment_batch(jax.random.key(key), batch, config, ("f",),
                                             (("f", fc),))["f"])
  changed = ~np.all(np.isclose(out, x_HxWxC[None], atol=1e-6), axis=(1, 2, 3))
  assert 0 < changed.sum() < b
  return out, changed


def test_flip_of_a_flow_field_is_the_flow_of_the_flipped_frames(tvl1):
  fl, want = tvl1["flow"], tvl1["flipped"]
  assert np.abs(fl[..., 0]).mean() > 0.5                  # the u channel really moves
  out, changed = _augment_all(fl, {"flip": True}, augment_lib.FlowChannels(0, 1, 0.0, 1.0))
  for i in np.flatnonzero(changed):
    assert _epe(out[i], want) < 0.05
  plain = fl[:, ::-1]                                      # the old flip: u left unflipped
  assert _epe(plain, want) > 1.0


def test_flip_of_a_minmax_flow_strain_image(tvl1):
  """Per-channel min-max (u, v, strain), times input_scale 255 and reversed to BGR: the
  flip of the stored image (u mirrored about 127.5) is exactly the image of the flipped
  flow field (u negated), so the TV-L1 agreement above carries over."""
  image = lambda f: np.asarray(strain.flow_strain_image(jnp.asarray(f)))[..., ::-1] * 255
  fc = augment_lib.flow_channels(
      {"data": {"inputs": {"image": "flow_strain", "apex": "apex"}, "input_scale": 255.0,
                "channel_order": "bgr", "preprocess": {"size": 32}}}, ["image", "apex"])
  assert fc == (("image", augment_lib.FlowChannels(2, 1, 127.5, None)),)
  fl = tvl1["flow"]
  x = image(fl)
  want = image(np.asarray(augment_lib.flip_flow(fl, augment_lib.FlowChannels(0, 1, 0.0, 1.0))))
  out, changed = _augment_all(x, {"flip": True}, fc[0][1])
  for i in np.flatnonzero(changed):
    np.testing.assert_allclose(out[i], want, atol=1e-3)
  assert np.abs(x[:, ::-1] - want)[..., 2].mean() > 10        # the old flip was wrong


def test_rotation_of_a_flow_field_rotates_its_vectors(tvl1):
  fl, want = tvl1["flow"], tvl1["rot90"]
  out, changed = _augment_all(fl, {"rotate_deg": [-90.0]},
                              augment_lib.FlowChannels(0, 1, 0.0, 1.0))
  for i in np.flatnonzero(changed):
    assert _epe(out[i], want) < 0.05
  assert _epe(np.rot90(fl), want) > 0.5                   # positions alone are not enough


def test_flow_augmentation_that_cannot_be_exact_is_refused():
  def fc(mode):
    return augment_lib.flow_channels(
        {"data": {"inputs": {"image": "flow_onset_apex"},
                  "preprocess": {"size": 16, "flow_normalize": mode}}}, ["image"])
  assert fc("none") == (("image", augment_lib.FlowChannels(0, 1, 0.0, 1.0)),)
  augment_lib.check_flow({"flip": True, "rotate_deg": 10.0}, fc("none"))
  augment_lib.check_flow({"flip": True}, fc("minmax_channel"))
  with pytest.raises(MerjaxError, match=r"^train.augment.rotate_deg: input 'image' is min-max"):
    augment_lib.check_flow({"rotate_deg": 10.0}, fc("minmax_channel"))
  with pytest.raises(MerjaxError, match=r"^train.augment.flip: input 'image' is flow min-max"):
    augment_lib.check_flow({"flip": True}, fc("minmax"))
  with pytest.raises(MerjaxError, match=r"^train.augment.mixup_alpha: 'x' is not a number"):
    augment_lib.check_config({"mixup_alpha": "x"})


def test_flow_rotation_image_rotates_positions_only():
  """flow_rotation=image: the flow image rotated as a picture, vectors unrotated (and
  allowed for min-max scaled flow, where the vector rotation is refused)."""
  fc = augment_lib.FlowChannels(0, 1, None, None)
  key = jax.random.PRNGKey(3)
  x = jax.random.uniform(jax.random.PRNGKey(4), (9, 9, 2))
  cfg = {"rotate_deg": [90.0]}
  with pytest.raises(MerjaxError, match="flow_rotation=image"):
    augment_lib.check_flow(cfg, [("image", fc)])
  picture = {**cfg, "flow_rotation": "image"}
  augment_lib.check_flow(picture, [("image", fc)])
  as_picture = augment_lib.augment_sample(key, x, picture, flow=fc)
  plain = augment_lib.augment_sample(key, x, picture)
  np.testing.assert_array_equal(as_picture, plain)
  with pytest.raises(MerjaxError, match="flow_rotation: 'pixels' is not one of"):
    augment_lib.check_config({"flow_rotation": "pixels"})

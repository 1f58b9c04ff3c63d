"""Fidelity defects of #18.6, each pinned by a test that failed before its fix: the public
flow functions, FDP's rank targets (Eq. 5: k = 0..t-1), FDP's random frame offset (drawn per
training visit, offset 0 at test), inner-validation scoring the whole objective, ORACLE rows
labelled in the tables, docs/fdp.md agreeing with the fdp config."""

import os
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

import merjax.modalities
from merjax import config as config_lib
from merjax import paper_tables
from merjax.configs import fdp as fdp_config
from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.evaluation import tables
from merjax.modalities import flow
from merjax.modalities import preprocess as pp
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "docs")


def test_modalities_export_the_flow_functions():
  assert merjax.modalities.tvl1_flow is flow.tvl1_flow
  assert merjax.modalities.tvl1_flow_batch is flow.tvl1_flow_batch
  assert {"tvl1_flow", "tvl1_flow_batch"} <= set(merjax.modalities.__all__)


def test_fdp_rank_targets_start_at_zero():
  """Eq. 5 sums |K(k) - S(F_k)| over k = 0 .. t-1: scores 0, 1, ..., t-1 cost nothing."""
  config = config_lib.load_config("fdp")
  loss = losses.make_loss(config["train"]["loss"])
  scores = jnp.arange(4.0)[None]
  _, parts = loss({"logits": jnp.zeros((1, 3)), "rank_scores": scores}, {}, jnp.zeros(1, int))
  assert float(parts["rank"]) == 0.0
  _, default = losses.make_loss({"name": "fdp"})(
      {"logits": jnp.zeros((1, 3)), "rank_scores": scores}, {}, jnp.zeros(1, int))
  assert float(default["rank"]) == 0.0


# ---------------------------------------------------------------- FDP's random offset

def test_offset_windows_hold_every_fdp_start():
  seg = np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1) * 10       # frame j holds 10 j
  w = pp.offset_windows(seg, 8, 7)
  assert w.shape == (8, 7, 1, 1, 1) and pp.fdp_num_offsets(20, 8) == 6
  for j in range(6):                                       # start j: j, j + 2, ..., j + 14
    np.testing.assert_array_equal(w[:, j, 0, 0, 0] * 255, 10 * (j + 2 * np.arange(8)))
    np.testing.assert_array_equal(w[:, j] * 255,
                                  seg[j + pp.sample_indices(20, 8, "fdp")].astype(np.float32))
  assert np.isnan(w[:, 6]).all()                           # past the clip's own offsets
  np.testing.assert_array_equal(pp.first_offset(w[None])[0], w[:, 0])
  np.testing.assert_array_equal(pp.sample_indices(20, 8, "fdp_offsets"), np.arange(8) * 2)
  short = pp.offset_windows(seg[:5], 8, 2)                  # < T frames: linspace, one offset
  assert pp.fdp_num_offsets(5, 8) == 1 and np.isnan(short[:, 1]).all()


N_SUBJECTS, PER_SUBJECT, T, M, K = 4, 2, 2, 3, 2


def _window_data(dtype=np.float32):
  """Clip n's window [k, j] holds n * 100 + j + 10 k everywhere; clip n has n % 3 + 1 offsets
  (the rest NaN)."""
  n = N_SUBJECTS * PER_SUBJECT
  code = (np.arange(n)[:, None, None] * 100 + np.arange(M)[None, None, :]
          + 10 * np.arange(T)[None, :, None]).astype(dtype)
  x = np.broadcast_to(code[..., None, None, None], (n, T, M, 2, 2, 1)).copy()
  valid = np.arange(n) % 3 + 1
  for i in range(n):
    x[i, :, valid[i]:] = np.nan
  y = (np.arange(n) % K).astype(np.int32)
  subjects = np.repeat([f"s{i}" for i in range(N_SUBJECTS)], PER_SUBJECT)
  return {"inputs": {"frames": x}, "y": y}, subjects, valid


class Probe(nn.Module):
  """Logits from the mean frame value; batch_stats["seen"] keeps the last training batch's
  first-frame values (n * 100 + offset), so a test can read the offsets each visit drew."""
  num_classes: int = K
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, batch, train):
    x = batch["frames"]
    assert x.ndim == 5, x.shape                     # the model never sees the offset axis
    seen = self.variable("batch_stats", "seen", lambda: jnp.full((8,), -1.0, x.dtype))
    if train:
      seen.value = jnp.full((8,), -1.0, x.dtype).at[:x.shape[0]].set(x[:, 0, 0, 0, 0])
    feature = jnp.mean(x, axis=(1, 2, 3, 4))[:, None] / 1000.0
    return {"logits": nn.Dense(self.num_classes, dtype=x.dtype)(feature)}


def _fns(tables, model, batch=8, selection="last", loss=None):
  return trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss(loss or {"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "sgd", "learning_rate": 0.5}), batch_size=batch,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, batch), augment={},
      augment_roles=(), selection=selection, eval_batch_size=3, offset_roles=("frames",),
      param_dtype=str(np.dtype(model.dtype)))


def test_view_draws_a_valid_offset_per_sample_and_offset_zero_otherwise():
  data, subjects, valid = _window_data()
  tables = trainer_lib.member_tables(protocols.loso_folds(subjects), [0], subjects)
  fns = _fns(tables, Probe())
  data = jax.tree.map(jnp.asarray, data)
  idx = jnp.arange(8)
  drawn = np.stack([np.asarray(fns._gather(data, idx, {}, jax.random.key(s))["frames"])
                    [:, 0, 0, 0, 0] for s in range(60)])          # 60 draws x 8 samples
  assert np.isfinite(drawn).all()
  offsets = drawn - 100 * np.arange(8)
  for i in range(8):                                    # uniform over the clip's own offsets
    assert set(offsets[:, i].astype(int)) == set(range(valid[i])), i
  test_view = np.asarray(fns._gather(data, idx, {})["frames"])
  np.testing.assert_array_equal(test_view, np.asarray(data["inputs"]["frames"])[:, :, 0])


def test_training_redraws_offsets_every_epoch_and_tests_at_offset_zero():
  data, subjects, valid = _window_data()
  tables = trainer_lib.member_tables(protocols.loso_folds(subjects), [0], subjects)
  fns = _fns(tables, Probe())
  data = jax.tree.map(jnp.asarray, data)
  row = jax.tree.map(lambda a: jnp.asarray(a[0]), tables.device_rows([0]))
  state = fns.init(data, row)
  epoch = jax.jit(fns.epoch)
  per_clip = {}
  for _ in range(8):
    state, metrics = epoch(data, state, row)
    assert bool(metrics["alive"]) and np.isfinite(float(metrics["loss"]))
    seen = np.round(np.asarray(state["batch_stats"]["seen"])).astype(int)
    for clip, offset in zip(seen // 100, seen % 100):
      per_clip.setdefault(int(clip), set()).add(int(offset))
  train = set(np.asarray(row["train"])[:int(row["n_train"])].tolist())
  assert set(per_clip) == train                          # only the member's training clips
  for clip, offsets in per_clip.items():                 # every offset of a clip shows up
    assert offsets == set(range(valid[clip])), clip
  logits = np.asarray(fns.predict(data, state, row))[:int(row["n_test"])]
  test = np.asarray(row["test"])[:int(row["n_test"])]
  variables = {"params": state["params"], "batch_stats": state["batch_stats"]}
  want = fns.model.apply(variables, {"frames": data["inputs"]["frames"][test][:, :, 0]},
                         train=False)["logits"]
  np.testing.assert_allclose(logits, want, rtol=1e-6)


def test_offsets_keep_a_fold_alone_equal_to_the_fold_in_a_group():
  with jax.enable_x64(True):
    data, subjects, _ = _window_data(np.float64)
    tables = trainer_lib.member_tables(protocols.loso_folds(subjects), [0], subjects)
    fns = _fns(tables, Probe(dtype=jnp.float64), batch=4)
    quiet = strategies.Progress(1, 2)
    run = lambda g: {r.member: r for r in strategies.run_members(
        fns, data, tables, epochs=2, strategy="vmap", group_size=g, progress=quiet)}
    together, alone = run(len(tables)), run(1)
  for m in together:
    np.testing.assert_allclose(together[m].logits, alone[m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(together[m].loss_history, alone[m].loss_history, atol=1e-10)


# ---------------------------------------------------------------- inner validation

class TwoStream(nn.Module):
  """logits, f1, f2 from one image: what the DIANet loss reads."""
  num_classes: int = K

  @nn.compact
  def __call__(self, batch, train):
    x = batch["image"].reshape(batch["image"].shape[0], -1)
    return {"logits": nn.Dense(self.num_classes)(x), "f1": nn.Dense(4)(x),
            "f2": nn.Dense(4)(x)}


def test_inner_validation_scores_the_whole_objective():
  rng = np.random.default_rng(0)
  n = 12
  data = {"inputs": {"image": jnp.asarray(rng.normal(size=(n, 3, 3, 1)), jnp.float32)},
          "y": jnp.asarray(np.arange(n) % K, jnp.int32)}
  subjects = np.repeat(["a", "b", "c", "d"], 3)
  tables = trainer_lib.member_tables(protocols.loso_folds(subjects), [0], subjects,
                                     selection="inner_val")
  loss_cfg = {"name": "dianet", "consistency_weight": 10.0}
  fns = trainer_lib.FoldFunctions(
      model=TwoStream(), loss_fn=losses.make_loss(loss_cfg),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-2}), batch_size=4,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, 4), augment={}, augment_roles=(),
      selection="inner_val", eval_batch_size=2)      # 3 validation clips: one padded chunk
  row = jax.tree.map(lambda a: jnp.asarray(a[0]), tables.device_rows([0]))
  state = fns.init(data, row)
  score = fns._selection_score(state["params"], state["batch_stats"], data, row, {})
  val = np.asarray(row["val"])[:int(row["n_val"])]
  batch = {"image": data["inputs"]["image"][val]}
  outputs = fns.model.apply({"params": state["params"]}, batch, train=False)
  objective, parts = fns.loss_fn(outputs, batch, data["y"][val])
  assert float(parts["consistency"]) > 0.01              # the comparison is not vacuous
  np.testing.assert_allclose(float(score), -float(objective), rtol=1e-5)
  assert abs(float(score) + float(parts["ce"])) > 1e-3    # not the cross-entropy alone


# ---------------------------------------------------------------- tables and docs

def test_oracle_runs_are_labelled_in_the_tables(tmp_path, monkeypatch):
  summary = {"num_predictions": 4, "num_folds": 2, "num_classes": 2, "selection": "oracle",
             "oracle": True, "pooled": {m: 0.5 for m in ("acc", "uf1", "uar", "war")},
             "fold_mean": {m: 0.5 for m in ("acc", "uf1", "uar", "war")}}
  text = tables.format_markdown(summary)
  assert "| pooled [ORACLE] | all |" in text and tables.ORACLE_NOTE in text
  assert "[ORACLE]" not in tables.format_markdown({**summary, "selection": "last",
                                                   "oracle": False})

  class Module:   # a paper table of two rows, one selected on the test subjects
    TITLE, BASE, COLUMNS = "t", "ststnet", ("uf1",)
    ROWS = [("last row", [], {"uf1": 0.5}),
            ("release", ["train.selection.rule=oracle"], {"uf1": 0.6})]

  def fake_run(config, workdir):
    rule = config["train"]["selection"]["rule"]
    return {"pooled": {"uf1": 0.25}, "selection": rule, "oracle": rule == "oracle"}

  monkeypatch.setattr(paper_tables.experiment, "run", fake_run)
  text = paper_tables.run_table(Module, str(tmp_path), log=lambda s: None)
  assert "| last row | 0.2500 | 0.5000 |" in text
  assert "| release [ORACLE] | 0.2500 | 0.6000 |" in text
  assert text.rstrip().endswith(tables.ORACLE_NOTE)


def test_fdp_doc_agrees_with_the_fdp_config():
  from experiments import describe  # pylint: disable=import-outside-toplevel
  doc = open(os.path.join(DOCS, "fdp.md")).read()
  config = config_lib.load_config("fdp")
  info = describe.describe_config(config, 5)
  counts = {int(c.replace(",", "")) for c in re.findall(r"\*\*([\d,]+)\*\*", doc)}
  assert info["params"] == 28_223_726 and info["params"] in counts
  assert 28_222_574 not in counts                       # the grey count is not the default
  assert info["inputs"]["frames"][-1] == 3 and not config["data"]["preprocess"]["grayscale"]
  for ours in ("weight decay", "onset..offset", "1e-3", "fewer than 8 frames"):
    assert ours in doc, ours
  for ours in ("weight decay 0", "onset..offset", "1e-3"):
    assert ours in fdp_config.__doc__, ours


def test_selection_rule_reaches_the_oracle_only_by_its_name():
  _, subjects, _ = _window_data()
  folds = protocols.loso_folds(subjects)
  for rule in ("inner-val", "best", "Oracle", None):
    with pytest.raises(MerjaxError, match=r"^train.selection.rule: .* is not one of "):
      trainer_lib.member_tables(folds, [0], subjects, selection=rule)
    tables = trainer_lib.member_tables(folds, [0], subjects)
    with pytest.raises(MerjaxError, match=r"^train.selection.rule: .* is not one of "):
      _fns(tables, Probe(), selection=rule)

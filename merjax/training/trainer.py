"""The per-fold training functions: pure, with a leading member axis added by
the strategies (merjax/training/strategies.py).

A *member* is one (seed, fold) pair. Everything a member needs is in its row of
the member tables (index sets over the one on-device dataset) and its PRNG key,
so a member's result never depends on which other members run beside it:
- the train table has length N (the dataset size) for every member, so the
  per-epoch shuffle draws the same random numbers whatever the group;
- a member takes ceil(n_train / B) steps per epoch; groups run the longest
  member's step count and freeze the others past their own.

Inputs staged with every FDP start offset (`offset_roles`: N x T x M x H x W x C,
merjax/modalities/preprocess.offset_windows) are seen as N x T x H x W x C: a
training visit draws one of the clip's offsets with the member's key, evaluation
(inner validation, the oracle, test predictions) and initialisation use offset 0.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from merjax.data.protocols import Folds, fold_seed
from merjax.errors import MerjaxError
from merjax.models import layers
from merjax.models.weights import pretrained as pretrained_lib
from merjax.training import augment as augment_lib
from merjax.training import hparams as hparams_lib
from merjax.training import losses

# Selection rules: "last" epoch (default), "inner_val" (lowest objective on held-out
# training subjects, with patience), "oracle" (best test accuracy: labelled). Only the
# word "oracle" reaches the test-accuracy branch; any other value is an error.
SELECTION_RULES = ("last", "inner_val", "oracle")
PARAM_DTYPES = ("float32", "bfloat16", "float64")
# train.last_batch: "full" (every step a full batch, the last one wrapped around the shuffled
# training set) or "partial" (the last step's batch holds only the remaining samples: the
# rest of the fixed-shape batch is masked out of the loss and the BatchNorm statistics, as a
# PyTorch DataLoader without drop_last).
LAST_BATCH = ("full", "partial")
# In-epoch progress: a host function of the step index, set by strategies.run_members while
# it traces the epoch program; each training step then calls it (jax.debug.callback: no
# effect on the computed values). None (the default): no callback is traced.
STEP_LISTENER: contextvars.ContextVar = contextvars.ContextVar("merjax_step_listener",
                                                               default=None)


def check_last_batch(value) -> str:
  """`value` when it is one of LAST_BATCH; a one-line MerjaxError otherwise."""
  if value not in LAST_BATCH:
    raise MerjaxError(f"train.last_batch: {value!r} is not one of "
                      f"{', '.join(map(repr, LAST_BATCH))}")
  return value


def config_options(config: Mapping) -> dict:
  """The FoldFunctions keyword arguments of the keys the trainer reads besides those
  experiment.build_fold_functions passes: model.pretrained / pretrained_format /
  pretrained_sha256 (`pretrained`), model.init (`torch_init`), train.last_batch and
  train.shuffle."""
  model = config["model"]
  return {"pretrained": pretrained_lib.spec_of(model),
          "torch_init": model.get("init", "flax") == "torch",
          "last_batch": check_last_batch(config["train"]["last_batch"]),
          "shuffle": config["train"]["shuffle"]}


def norm_stats(inputs, train_P, n_train) -> dict:
  """role -> (mean_C, std_C + 1e-6) over the first `n_train` samples of `train_P` (indices
  into each role's N x ... x C array, padded past n_train), every pixel of them counted:
  data.standardize's per-fold statistics."""
  valid_P = jnp.arange(train_P.shape[0]) < n_train
  stats = {}
  for role, x in inputs.items():
    x_P = x[train_P]
    axes = tuple(range(x_P.ndim - 1))
    w = valid_P.reshape((-1,) + (1,) * (x_P.ndim - 1)).astype(x_P.dtype)
    count = jnp.maximum(jnp.sum(w) * (x_P[0].size // x_P.shape[-1]), 1)
    mean = jnp.sum(x_P * w, axis=axes) / count
    var = jnp.sum(((x_P - mean) ** 2) * w, axis=axes) / count
    stats[role] = (mean, jnp.sqrt(var) + 1e-6)
  return stats


def check_selection(rule) -> str:
  """`rule` when it is one of SELECTION_RULES; a one-line MerjaxError otherwise."""
  if rule not in SELECTION_RULES:
    raise MerjaxError(f"train.selection.rule: {rule!r} is not one of "
                      f"{', '.join(map(repr, SELECTION_RULES))}")
  return rule


def check_param_dtype(name) -> str:
  """`name` when it is one of PARAM_DTYPES; a one-line MerjaxError otherwise."""
  if name not in PARAM_DTYPES:
    raise MerjaxError(f"train.param_dtype: {name!r} is not one of "
                      f"{', '.join(map(repr, PARAM_DTYPES))}")
  return name


@dataclasses.dataclass(frozen=True)
class MemberTables:
  """Host-side description of M members (seed x fold), all arrays M-leading.

  train_MxN: train sample indices, valid first, padded with 0 to N.
  val_MxV, test_MxP: inner-validation and test indices, padded with 0.
  n_train_M, n_val_M, n_test_M: valid counts.
  seed_M, fold_M: the seed and the fold index of each member.
  key_seed_M: the integer each member's PRNG key is made from.
  combo_M: the sweep combination of each member (0 without a sweep).
  hparams: {dotted config key: values_M}, the traced hyperparameters.
  """
  train_MxN: np.ndarray
  n_train_M: np.ndarray
  val_MxV: np.ndarray
  n_val_M: np.ndarray
  test_MxP: np.ndarray
  n_test_M: np.ndarray
  seed_M: np.ndarray
  fold_M: np.ndarray
  key_seed_M: np.ndarray
  combo_M: np.ndarray
  hparams: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

  def __len__(self):
    return len(self.seed_M)

  def device_rows(self, rows) -> dict[str, np.ndarray]:
    """The arrays a member function reads, for the given member rows."""
    rows = np.asarray(rows)
    out = {"train": self.train_MxN[rows], "n_train": self.n_train_M[rows],
           "val": self.val_MxV[rows], "n_val": self.n_val_M[rows],
           "test": self.test_MxP[rows], "n_test": self.n_test_M[rows],
           "key_seed": self.key_seed_M[rows]}
    if self.hparams:
      out["hparams"] = {k: v[rows] for k, v in self.hparams.items()}
    return out


def _pad_rows(rows: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
  table = np.zeros((len(rows), max(length, 1)), np.int32)
  for i, r in enumerate(rows):
    table[i, :len(r)] = r
  return table, np.asarray([len(r) for r in rows], np.int32)


def member_tables(folds: Folds, seeds, subject_N, *, selection: str = "last",
                  val_subjects: int = 1, combos=None) -> MemberTables:
  """Builds the member tables for every (combo, seed, fold), combo-major.

  `combos`: a list of {dotted key: number} traced hyperparameters, the same
  keys in each (default: one combination with none). A member's PRNG key
  depends on (seed, fold name) only, so every combination starts from the
  same initialisation and data order (common random numbers).
  With selection "inner_val", `val_subjects` training subjects per member are
  moved from its train set to its validation set, chosen by a generator seeded
  from (seed, fold name) alone.
  """
  check_selection(selection)
  subject_N = np.asarray(subject_N)
  n = len(subject_N)
  combos = list(combos) if combos else [{}]
  trains, vals, tests, seed_M, fold_M, key_M, combo_M = [], [], [], [], [], [], []
  for c, seed in ((c, seed) for c in range(len(combos)) for seed in seeds):
    for f, name in enumerate(folds.names):
      train = np.flatnonzero(folds.train_FxN[f])
      val = np.zeros(0, np.int64)
      if selection == "inner_val":          # "last" and "oracle" hold out no subject
        rng = np.random.default_rng(fold_seed(seed, "val:" + name))
        candidates = sorted(set(subject_N[train].tolist()))
        chosen = rng.choice(candidates, size=min(val_subjects, len(candidates) - 1),
                            replace=False)
        in_val = np.isin(subject_N[train], chosen)
        train, val = train[~in_val], train[in_val]
      trains.append(train)
      vals.append(val)
      tests.append(np.flatnonzero(folds.test_FxN[f]))
      seed_M.append(seed)
      fold_M.append(f)
      key_M.append(fold_seed(seed, name))
      combo_M.append(c)
  train_MxN, n_train = _pad_rows(trains, n)
  val_MxV, n_val = _pad_rows(vals, max(len(v) for v in vals))
  test_MxP, n_test = _pad_rows(tests, max(len(t) for t in tests))
  combo_M = np.asarray(combo_M)
  hparams = {k: np.asarray([combos[c][k] for c in combo_M], np.float32) for k in combos[0]}
  return MemberTables(train_MxN, n_train, val_MxV, n_val, test_MxP, n_test,
                      np.asarray(seed_M), np.asarray(fold_M),
                      np.asarray(key_M, np.uint32), combo_M, hparams)


def _where(cond, new, old):
  return jax.tree.map(lambda a, b: jnp.where(cond, a, b), new, old)


def _cast_floats(tree, dtype):
  return jax.tree.map(
      lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


@dataclasses.dataclass(frozen=True)
class FoldFunctions:
  """Pure per-member functions. `data` = {"inputs": {role: X_N...}, "y": y_N} is
  shared (unmapped); `state` and `row` are one member's."""
  model: nn.Module
  loss_fn: Callable
  tx: optax.GradientTransformation
  batch_size: int
  steps_per_epoch: int          # max over all members of the run
  augment: Mapping
  augment_roles: tuple[str, ...]
  selection: str = "last"
  patience: int = 10
  eval_batch_size: int = 64
  param_dtype: str = "float32"
  standardize: bool = False     # per-channel mean/std of the member's train set
  loss_config: Mapping | None = None   # rebuilds the loss with traced options
  max_steps: int = 0            # > 0: each member stops after this many optimizer steps
  offset_roles: tuple[str, ...] = ()   # inputs staged as N x T x M offset windows
  # ((role, augment.FlowChannels), ...): flow inputs, flipped and rotated as vector fields.
  flow_roles: tuple = ()
  shuffle: bool = True          # train.shuffle: False = the dataset order every epoch
  # model.pretrained: (path, format, sha256) of the weights file every member's backbone
  # starts from (merjax/models/weights/pretrained.py), None = the initialisers.
  pretrained: tuple | None = None
  torch_init: bool = False      # model.init=torch: PyTorch's default initialisers
  last_batch: str = "full"      # train.last_batch (LAST_BATCH)
  # last_batch=partial: the width of the run's last step of an epoch (`last_step_batch`: the
  # most samples a member's last step holds); 0 = batch_size. Padding rows never computed.
  last_step_batch: int = 0
  full_steps: int = 0           # last_batch=partial: the first steps every member fills, unmasked
  multilabel: bool = False      # data.task=au: y is N x A multi-hot, selection by mean AU F1

  def __post_init__(self):
    check_selection(self.selection)
    check_param_dtype(self.param_dtype)
    check_last_batch(self.last_batch)
    augment_lib.check_config(self.augment)
    augment_lib.check_flow(self.augment, self.flow_roles)

  @property
  def _selects(self) -> bool:
    """Whether the member keeps a selected (best) state besides its last one."""
    return {"last": False, "inner_val": True, "oracle": True}[self.selection]

  def _for_member(self, row) -> FoldFunctions:
    """These functions with the member's traced hyperparameters (row["hparams"])
    put into its model fields, loss options and augmentation strengths."""
    if not row.get("hparams"):
      return self
    parts = hparams_lib.split(row["hparams"])
    changes = {}
    if parts["model"]:
      changes["model"] = self.model.clone(**parts["model"])
    if parts["loss"]:
      changes["loss_fn"] = losses.make_loss({**self.loss_config, **parts["loss"]})
    if parts["augment"]:
      changes["augment"] = {**self.augment, **parts["augment"]}
    return dataclasses.replace(self, **changes)

  def _norm_stats(self, data, row):
    """role -> (mean_C, std_C) over the member's training samples (all pixels)."""
    return norm_stats(self._view(data["inputs"]), row["train"], row["n_train"])  # offset 0

  def _view(self, batch, key=None):
    """Offset-window roles (B x T x M x ...) as the model's B x T x ...: with `key`, one
    of each sample's own offsets uniformly (its finite columns, a prefix); else offset 0."""
    out = dict(batch)
    keys = jax.random.split(key, len(self.offset_roles)) if key is not None else None
    for i, role in enumerate(self.offset_roles):
      x_BxTxMx___ = batch[role]
      if x_BxTxMx___.ndim != 6:
        raise MerjaxError(f"input '{role}': offset windows must be N x T x M x H x W x C, got "
                          f"{x_BxTxMx___.ndim - 1}-D samples of shape {x_BxTxMx___.shape[1:]}")
      if keys is None:
        out[role] = x_BxTxMx___[:, :, 0]
        continue
      b, m = x_BxTxMx___.shape[0], x_BxTxMx___.shape[2]
      first = x_BxTxMx___.reshape(b, x_BxTxMx___.shape[1], m, -1)[:, 0, :, 0]
      n_valid_B = jnp.maximum(jnp.sum(jnp.isfinite(first), axis=1), 1)
      o_B = jax.random.randint(keys[i], (b,), 0, n_valid_B)
      out[role] = jax.vmap(lambda x, o: x[:, o])(x_BxTxMx___, o_B)
    return out

  def _gather(self, data, idx, norm, key=None):
    """The batch {role: X[idx]} (offset windows viewed by `_view`, then standardised
    when configured)."""
    return self._standardized(
        self._view({r: x[idx] for r, x in data["inputs"].items()}, key), norm)

  def _standardized(self, batch, norm):
    """The batch standardised with `norm` (role -> (mean_C, std_C)); unchanged when empty."""
    if norm:
      batch = {r: (x - norm[r][0]) / norm[r][1] for r, x in batch.items()}
    return batch

  # --- pieces -------------------------------------------------------------
  def _variables(self, params, batch_stats):
    return {"params": params, "batch_stats": batch_stats}

  def _forward_eval(self, params, batch_stats, batch):
    return self.model.apply(self._variables(params, batch_stats), batch, train=False)

  def _logits_of(self, params, batch_stats, data, idx_P, norm):
    """Eval-mode logits for the samples idx_P (P padded indices), in chunks."""
    e = self.eval_batch_size
    p = idx_P.shape[0]
    chunks = math.ceil(p / e)
    idx_CxE = jnp.pad(idx_P, (0, chunks * e - p)).reshape(chunks, e)

    def one(idx_E):
      batch = self._gather(data, idx_E, norm)
      logits = self._forward_eval(params, batch_stats, batch)["logits"]
      return logits.astype(jnp.promote_types(logits.dtype, jnp.float32))

    logits_CxExK = jax.lax.map(one, idx_CxE)
    return logits_CxExK.reshape(chunks * e, -1)[:p]

  # --- member functions ---------------------------------------------------
  def init(self, data, row):
    """Initial state of one member."""
    return self._for_member(row)._init(data, row)

  def epoch(self, data, state, row):
    """One epoch for one member: ceil(n_train / B) steps over a fresh shuffle.

    Returns (state, {"loss": mean train loss, "score": selection score}).
    """
    return self._for_member(row)._epoch(data, state, row)

  def predict(self, data, state, row):
    """Test logits (P x K, padded) with the selected parameters."""
    return self._for_member(row)._predict(data, state, row)

  def _init(self, data, row):
    key = jax.random.key(row["key_seed"])
    key, k_init, k_drop = jax.random.split(key, 3)
    sample = self._view({r: x[:1] for r, x in data["inputs"].items()})
    variables = self.model.init({"params": k_init, "dropout": k_drop}, sample, train=False)
    if self.torch_init:
      variables = dict(variables, params=pretrained_lib.torch_init(
          variables["params"], jax.random.fold_in(k_init, 1)))
    if self.pretrained is not None:
      # Cast first: the file's values land in the parameter dtype unrounded (float64 runs).
      variables = pretrained_lib.overlay(
          self.model, self.pretrained, _cast_floats(variables, jnp.dtype(self.param_dtype)))
    params = variables["params"]
    batch_stats = variables.get("batch_stats", {})
    dtype = jnp.dtype(self.param_dtype)
    params, batch_stats = _cast_floats((params, batch_stats), dtype)
    state = {
        "params": params, "batch_stats": batch_stats,
        "opt_state": _cast_floats(hparams_lib.inject_optimizer(
            self.tx.init(params),
            hparams_lib.split(row.get("hparams", {}))["optimizer"]), dtype),
        "key": key, "alive": jnp.asarray(True), "epoch": jnp.asarray(0, jnp.int32),
        "norm": self._norm_stats(data, row) if self.standardize else {},
    }
    if self._selects:
      state.update(best_params=params, best_batch_stats=batch_stats,
                   best_score=jnp.asarray(-jnp.inf, jnp.float32),
                   best_epoch=jnp.asarray(0, jnp.int32),
                   bad_epochs=jnp.asarray(0, jnp.int32),
                   stopped=jnp.asarray(False))
    return state

  def epoch_order(self, state, row):
    """(key for the rest of the epoch, order_N): the epoch's shuffle of the member's
    training rows (positions into row["train"]; valid ones first). train.shuffle=false:
    0, 1, ..., N - 1, the training samples in dataset order (row["train"] is ascending),
    the same key draws either way."""
    n = row["train"].shape[0]
    key, k_perm, k_steps = jax.random.split(state["key"], 3)
    if not self.shuffle:
      return (key, k_steps), jnp.arange(n)
    priority_N = jax.random.uniform(k_perm, (n,)) + (jnp.arange(n) >= row["n_train"])
    return (key, k_steps), jnp.argsort(priority_N)

  def _epoch(self, data, state, row):
    b = self.batch_size
    n_train = jnp.maximum(row["n_train"], 1)
    own_steps = (row["n_train"] + b - 1) // b
    (key, k_steps), order_N = self.epoch_order(state, row)
    running = state["alive"]
    if self._selects:
      running = running & ~state["stopped"]
    partial = self.last_batch == "partial"
    mixing = augment_lib.mixes(self.augment)

    def loss_of(params, batch_stats, batch, labels_B, k_drop, valid_B, mix, masked=partial):
      def forward():
        return self.model.apply(self._variables(params, batch_stats), batch, train=True,
                                rngs={"dropout": k_drop}, mutable=["batch_stats"])
      if masked:                   # padding rows out of the BatchNorm statistics too
        with layers.batch_mask(valid_B):
          outputs, mutated = forward()
      else:
        outputs, mutated = forward()
      new_stats = mutated.get("batch_stats", batch_stats)
      if not masked and not mixing:
        return self.loss_fn(outputs, batch, labels_B)[0], new_stats
      if not masked:               # mixing over a full batch: every sample counts
        valid_B = jnp.ones_like(valid_B)
      # The loss is a batch mean of per-sample terms: the mean over the valid samples.
      if mixing:                   # MixUp / CutMix: lam loss(y) + (1 - lam) loss(y[partner])
        loss_B = losses.mixed_per_sample(self.loss_fn, outputs, batch, labels_B, *mix)
      else:
        loss_B = losses.per_sample(self.loss_fn, outputs, batch, labels_B)
      loss = jnp.sum(jnp.where(valid_B, loss_B, 0.0)) / jnp.maximum(jnp.sum(valid_B), 1)
      return loss, new_stats

    listener = STEP_LISTENER.get()

    def step(carry, s, width=b, masked=partial):
      if listener is not None:
        jax.debug.callback(listener, s)
      params, batch_stats, opt_state = carry
      pos_B = s * b + jnp.arange(width)
      valid_B = pos_B < n_train
      idx_B = row["train"][order_N[pos_B % n_train]]
      k_step = jax.random.fold_in(k_steps, s)
      if self.offset_roles:        # a third key, only where offsets are drawn
        k_aug, k_drop, k_offset = jax.random.split(k_step, 3)
      else:
        (k_aug, k_drop), k_offset = jax.random.split(k_step), None
      # Augmented as staged (flow values as the modality wrote them), then standardised.
      batch = self._gather(data, idx_B, {}, k_offset)
      batch = augment_lib.augment_batch(k_aug, batch, self.augment, self.augment_roles,
                                        self.flow_roles)
      mix = None
      if mixing:
        batch, partner_B, lam_B = augment_lib.mix_batch(
            jax.random.fold_in(k_aug, 1), batch, self.augment)
        mix = (partner_B, lam_B)
      batch = self._standardized(batch, state["norm"])
      (loss, new_stats), grads = jax.value_and_grad(loss_of, has_aux=True)(
          params, batch_stats, batch, data["y"][idx_B], k_drop, valid_B, mix, masked)
      updates, new_opt = self.tx.update(grads, opt_state, params)
      new_params = optax.apply_updates(params, updates)
      in_range = s < own_steps
      if self.max_steps > 0:     # train.total_steps: stop mid-epoch at the member's step budget
        in_range &= state["epoch"] * own_steps + s < self.max_steps
      active = in_range & running & jnp.isfinite(loss)
      carry = _where(active, (new_params, new_stats, new_opt), carry)
      return carry, (loss, in_range)

    carry = (state["params"], state["batch_stats"], state["opt_state"])
    last = self.last_step_batch if partial else 0
    wide = self.steps_per_epoch - (0 < last < b)            # steps at the full width
    unmasked = min(self.full_steps, wide) if partial else 0   # ... that every member fills
    parts = []
    if unmasked:
      carry, out = jax.lax.scan(lambda c, s: step(c, s, masked=False), carry,
                                jnp.arange(unmasked))
      parts.append(out)
    if wide > unmasked or not parts:
      carry, out = jax.lax.scan(step, carry, jnp.arange(unmasked, wide))
      parts.append(out)
    if wide < self.steps_per_epoch:    # the run's last step, at its narrower width
      carry, out = step(carry, jnp.asarray(wide, jnp.int32), last)
      parts.append(jax.tree.map(lambda x: x[None], out))
    loss_S, in_range_S = (jnp.concatenate(x) for x in zip(*parts))
    finite = jnp.all(jnp.isfinite(loss_S) | ~in_range_S)
    taken = jnp.sum(in_range_S)
    mean_loss = jnp.where(taken > 0, jnp.sum(jnp.where(in_range_S, loss_S, 0.0))
                          / jnp.maximum(taken, 1), jnp.nan)
    params, batch_stats, opt_state = carry
    new = dict(state, params=params, batch_stats=batch_stats, opt_state=opt_state,
               key=key, alive=state["alive"] & (finite | ~running),
               epoch=state["epoch"] + running.astype(jnp.int32))
    score = jnp.asarray(jnp.nan, jnp.float32)
    if self._selects:
      score = self._selection_score(params, batch_stats, data, row, state["norm"])
      better = running & (score > new["best_score"])
      new["best_params"] = _where(better, params, state["best_params"])
      new["best_batch_stats"] = _where(better, batch_stats, state["best_batch_stats"])
      new["best_score"] = jnp.where(better, score, state["best_score"])
      new["best_epoch"] = jnp.where(better, new["epoch"], state["best_epoch"])
      bad = jnp.where(better, 0, state["bad_epochs"] + running.astype(jnp.int32))
      new["bad_epochs"] = bad
      if self.selection == "inner_val":
        new["stopped"] = state["stopped"] | (bad >= self.patience)
    return new, {"loss": mean_loss.astype(jnp.float32), "score": score,
                 "alive": new["alive"]}

  def _objective_of(self, params, batch_stats, data, idx_P, count, norm):
    """Mean of the loss function (the model's whole training objective) over the `count`
    valid samples of idx_P, eval mode (running BN statistics, no dropout, offset 0). The
    loss is evaluated one sample at a time, so padded samples drop out of the mean exactly
    (every registered loss is a batch mean of per-sample terms)."""
    e = self.eval_batch_size
    p = idx_P.shape[0]
    chunks = math.ceil(p / e)
    idx_CxE = jnp.pad(idx_P, (0, chunks * e - p)).reshape(chunks, e)
    valid_CxE = (jnp.arange(chunks * e) < count).reshape(chunks, e)

    def one(args):
      idx_E, valid_E = args
      batch = self._gather(data, idx_E, norm)
      outputs = self._forward_eval(params, batch_stats, batch)
      per_sample = jax.vmap(lambda o, x, y: self.loss_fn(
          jax.tree.map(lambda a: a[None], o), jax.tree.map(lambda a: a[None], x), y[None])[0])
      loss_E = per_sample(outputs, batch, data["y"][idx_E]).astype(jnp.float32)
      return jnp.sum(jnp.where(valid_E, loss_E, 0.0))

    total = jnp.sum(jax.lax.map(one, (idx_CxE, valid_CxE)))
    return (total / jnp.maximum(count, 1)).astype(jnp.float32)

  def _mean_au_f1(self, params, batch_stats, data, idx_P, count, norm):
    """Mean over AUs of F1 = 2TP / (2TP + FP + FN) (positive: logit > 0) over the `count`
    valid samples of idx_P; AUs with 2TP + FP + FN = 0 enter no mean (0 when none is left),
    as merjax/evaluation/au_metrics.py scores them."""
    logits_PxA = self._logits_of(params, batch_stats, data, idx_P, norm)
    valid_Px1 = (jnp.arange(idx_P.shape[0]) < count)[:, None]
    pred, true = (logits_PxA > 0) & valid_Px1, (data["y"][idx_P] > 0.5) & valid_Px1
    tp = jnp.sum(pred & true, 0)
    den_A = 2 * tp + jnp.sum(pred & ~true, 0) + jnp.sum(~pred & true, 0)
    f1_A = jnp.where(den_A > 0, 2 * tp / jnp.maximum(den_A, 1), 0.0)
    defined = jnp.sum(den_A > 0)
    return (jnp.sum(f1_A) / jnp.maximum(defined, 1)).astype(jnp.float32)

  def _selection_score(self, params, batch_stats, data, row, norm):
    """Higher is better. inner_val: minus the training objective (the loss function, all
    of its terms) on the inner-validation subjects; oracle: the test accuracy. Multi-label
    (data.task=au): the mean AU F1 of those samples, for both rules (docs/au.md)."""
    if self.multilabel and self.selection in ("inner_val", "oracle"):
      idx, count = (row["val"], row["n_val"]) if self.selection == "inner_val" else (
          row["test"], row["n_test"])
      return self._mean_au_f1(params, batch_stats, data, idx, count, norm)
    if self.selection == "inner_val":
      return -self._objective_of(params, batch_stats, data, row["val"], row["n_val"], norm)
    if self.selection == "oracle":
      idx, count = row["test"], row["n_test"]
      logits = self._logits_of(params, batch_stats, data, idx, norm)
      hit = jnp.argmax(logits, -1) == data["y"][idx]
      valid = jnp.arange(idx.shape[0]) < count
      return (jnp.sum(hit & valid) / jnp.maximum(count, 1)).astype(jnp.float32)
    raise MerjaxError(f"train.selection.rule: {self.selection!r} keeps no selected state")

  def _predict(self, data, state, row):
    if self._selects:
      params, batch_stats = state["best_params"], state["best_batch_stats"]
    else:
      params, batch_stats = state["params"], state["batch_stats"]
    return self._logits_of(params, batch_stats, data, row["test"], state["norm"])


def steps_per_epoch(tables: MemberTables, batch_size: int) -> int:
  """The most steps any member takes per epoch: ceil(max n_train / B)."""
  return max(1, math.ceil(int(tables.n_train_M.max()) / batch_size))


def last_step_batch(tables: MemberTables, batch_size: int) -> int:
  """The most samples the run's last step of an epoch (the steps_per_epoch-th) holds for
  any member: n_train - (steps - 1) * B over the members that take that many steps."""
  b, steps = batch_size, steps_per_epoch(tables, batch_size)
  n_M = tables.n_train_M[(tables.n_train_M + b - 1) // b == steps]
  return int((n_M - (steps - 1) * b).max()) if n_M.size else b


def full_steps(tables: MemberTables, batch_size: int) -> int:
  """The steps of an epoch whose batch is full for every member: min over members of
  floor(n_train / B) (with train.last_batch=partial they run without a mask)."""
  return int((tables.n_train_M // batch_size).min())


def epochs_for_steps(tables: MemberTables, batch_size: int, total_steps: int) -> int:
  """Epochs until every member has taken `total_steps` steps (the member with
  the fewest steps per epoch decides)."""
  fewest = max(1, math.ceil(int(tables.n_train_M.min()) / batch_size))
  return math.ceil(total_steps / fewest)

"""The fold-parallel trainer: fold-parallel == fold alone, strategies agree,
determinism, failed folds, selection rules."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.models.ststnet import STSTNet
from merjax.training import augment as augment_lib
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib

N_SUBJECTS, PER_SUBJECT, SIZE, K = 4, 6, 12, 3


def _data(dtype=np.float32):
  rng = np.random.default_rng(0)
  n = N_SUBJECTS * PER_SUBJECT
  y_N = rng.integers(0, K, n).astype(np.int32)
  x = rng.normal(size=(n, SIZE, SIZE, 3)) + y_N[:, None, None, None]
  subject_N = np.repeat([f"s{i}" for i in range(N_SUBJECTS)], PER_SUBJECT)
  return {"inputs": {"image": x.astype(dtype)}, "y": y_N}, subject_N


def _functions(tables, model, *, selection="last", augment=None, lr=1e-2, batch=8):
  return trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": lr}),
      batch_size=batch, steps_per_epoch=trainer_lib.steps_per_epoch(tables, batch),
      augment=augment or {}, augment_roles=("image",), selection=selection,
      patience=2, eval_batch_size=8, param_dtype=str(model.dtype.dtype
                                                     if hasattr(model.dtype, "dtype")
                                                     else np.dtype(model.dtype)))


def _run(fns, data, tables, strategy, group_size, epochs=3, **kw):
  quiet = strategies.Progress(1, epochs)
  results = strategies.run_members(fns, data, tables, epochs=epochs, strategy=strategy,
                                   group_size=group_size, progress=quiet, **kw)
  return {r.member: r for r in results}


@pytest.fixture(scope="module")
def float64_setup():
  """Float64 on CPU: a fold's result must not depend on its companions."""
  with jax.enable_x64(True):
    data, subject_N = _data(np.float64)
    folds = protocols.loso_folds(subject_N)
    tables = trainer_lib.member_tables(folds, [0], subject_N)
    model = STSTNet(num_classes=K, dtype=jnp.float64)
    fns = _functions(tables, model, augment={"flip": True, "translate_px": 1.0})
    together = _run(fns, data, tables, "vmap", group_size=len(tables), epochs=2)
    yield data, tables, fns, together


def test_fold_in_parallel_run_equals_fold_alone(float64_setup):
  data, tables, fns, together = float64_setup
  with jax.enable_x64(True):
    alone = _run(fns, data, tables, "vmap", group_size=1, epochs=2)
  assert len(together) == len(tables) == 4
  for m in together:
    assert together[m].logits.dtype == np.float64
    np.testing.assert_allclose(together[m].logits, alone[m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(together[m].loss_history, alone[m].loss_history, atol=1e-10)
  # The folds really differ from each other (the comparison is not vacuous).
  assert not np.allclose(together[0].loss_history, together[1].loss_history)


@pytest.mark.parametrize("strategy", ["sequential", "chunked"])
def test_strategies_agree(float64_setup, strategy):
  data, tables, fns, together = float64_setup
  with jax.enable_x64(True):
    other = _run(fns, data, tables, strategy, group_size=3, chunk=2, epochs=2)
  for m in range(len(tables)):
    np.testing.assert_allclose(other[m].logits, together[m].logits, atol=1e-10)


def test_same_seed_is_bit_identical_and_seed_matters():
  data, subject_N = _data()
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0, 1], subject_N)
  fns = _functions(tables, STSTNet(num_classes=K))
  first = _run(fns, data, tables, "sequential", group_size=len(tables), epochs=2)
  second = _run(fns, data, tables, "sequential", group_size=len(tables), epochs=2)
  for m in first:
    np.testing.assert_array_equal(first[m].logits, second[m].logits)
  # members 0..3 are seed 0, 4..7 seed 1: same fold, different seed, different result.
  assert tables.seed_M.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
  assert not np.array_equal(first[0].logits, first[4].logits)


def test_member_steps_do_not_depend_on_group():
  """A member with fewer training samples takes fewer steps per epoch."""
  _, subject_N = _data()
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  assert tables.train_MxN.shape == (4, len(subject_N))     # padded to N, not group
  assert tables.n_train_M.tolist() == [18, 18, 18, 18]
  assert trainer_lib.steps_per_epoch(tables, 8) == 3


def test_nonfinite_fold_is_reported_and_others_finish():
  data, subject_N = _data()
  # Subject s2's samples are infinite: only folds that train on them blow up.
  x = data["inputs"]["image"].copy()
  x[subject_N == "s2"] = np.inf
  data = {"inputs": {"image": x}, "y": data["y"]}
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  fns = _functions(tables, STSTNet(num_classes=K))
  results = _run(fns, data, tables, "vmap", group_size=4, epochs=2)
  failed = {folds.names[r.fold] for r in results.values() if r.failed}
  assert failed == {"s0", "s1", "s3"}           # every fold that trains on s2
  ok = results[2]                                # fold s2 tests on s2, trains clean
  assert not ok.failed and ok.logits.shape == (PER_SUBJECT, K)


def test_inner_validation_never_uses_the_test_subject():
  _, subject_N = _data()
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N, selection="inner_val",
                                     val_subjects=1)
  for m in range(len(tables)):
    test_subjects = set(subject_N[tables.test_MxP[m, :tables.n_test_M[m]]])
    val_subjects = set(subject_N[tables.val_MxV[m, :tables.n_val_M[m]]])
    train_subjects = set(subject_N[tables.train_MxN[m, :tables.n_train_M[m]]])
    assert len(val_subjects) == 1
    assert not val_subjects & test_subjects
    assert not val_subjects & train_subjects
    assert not train_subjects & test_subjects


def test_inner_val_selection_keeps_best_epoch():
  data, subject_N = _data()
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N, selection="inner_val")
  fns = _functions(tables, STSTNet(num_classes=K), selection="inner_val", lr=5e-2)
  results = _run(fns, data, tables, "sequential", group_size=4, epochs=4)
  for r in results.values():
    assert 1 <= r.selected_epoch <= 4


def test_standardize_uses_only_the_members_training_samples():
  data, subject_N = _data()
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  fns = trainer_lib.FoldFunctions(
      model=STSTNet(num_classes=K), loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-3}), batch_size=8,
      steps_per_epoch=1, augment={}, augment_roles=(), standardize=True)
  row = jax.tree.map(jnp.asarray, tables.device_rows([1]))
  row = jax.tree.map(lambda a: a[0], row)
  mean, std = fns._norm_stats(jax.tree.map(jnp.asarray, data), row)["image"]
  x_train = data["inputs"]["image"][subject_N != "s1"]
  np.testing.assert_allclose(mean, x_train.mean(axis=(0, 1, 2)), rtol=1e-5)
  np.testing.assert_allclose(std, x_train.std(axis=(0, 1, 2)) + 1e-6, rtol=1e-4)


def test_total_steps_stops_each_member_mid_epoch():
  """train.total_steps: 18 training samples at batch 8 = 3 steps per epoch; a
  budget of 4 steps takes 2 epochs and stops after step 4."""
  data, subject_N = _data()
  tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
  fns = dataclasses.replace(_functions(tables, STSTNet(num_classes=K)), max_steps=4)
  assert trainer_lib.epochs_for_steps(tables, 8, 4) == 2
  row = jax.tree.map(lambda a: jnp.asarray(a[0]), tables.device_rows([0]))
  data = jax.tree.map(jnp.asarray, data)
  state = fns.init(data, row)
  counts, losses_ = [], []
  for _ in range(3):
    state, metrics = jax.jit(fns.epoch)(data, state, row)
    counts.append(int(state["opt_state"].count))
    losses_.append(float(metrics["loss"]))
  assert counts == [3, 4, 4]
  assert np.isfinite(losses_[:2]).all() and np.isnan(losses_[2])   # no step: no loss


# ---------------------------------------------------------------- config guards (#17)

@pytest.mark.parametrize("check,config,message", [
    (optim.check_config, {"name": "adam", "learning_rat": 1e-3},
     "train.optimizer.learning_rat: unknown key of optimizer 'adam'; "
     "did you mean train.optimizer.learning_rate?"),
    (optim.check_config, {"name": "adma", "learning_rate": 1e-3},
     "train.optimizer.name: unknown optimizer 'adma'; did you mean adam or adamw?"),
    (optim.check_config, {"name": "adam", "learning_rate": "1e-3x"},
     "train.optimizer.learning_rate: '1e-3x' is not a number"),
    (optim.check_config, {"name": "sgd", "learning_rate": 0.1, "momentun": 0.9},
     "train.optimizer.momentun: unknown key of optimizer 'sgd'; "
     "did you mean train.optimizer.momentum?"),
    (optim.check_config, {"name": "adam"},
     "train.optimizer.learning_rate: missing (optimizer 'adam' needs it)"),
    (losses.check_config, {"name": "focal", "gama": 2.0},
     "train.loss.gama: unknown key of loss 'focal'; did you mean train.loss.gamma?"),
    (losses.check_config, {"name": "cross_entropy", "gamma": 2.0},
     "train.loss.gamma: unknown key of loss 'cross_entropy'; known: none"),
    (losses.check_config, {"name": "fdp", "lambda_d": "100"},
     "train.loss.lambda_d: '100' is not a number"),
    (losses.check_config, {"name": "cros_entropy"},
     "train.loss.name: unknown loss 'cros_entropy'; did you mean cross_entropy?"),
    (augment_lib.check_config, {"flipp": True},
     "train.augment.flipp: unknown key; did you mean train.augment.flip?"),
    (augment_lib.check_config, {"rotate_deg": "10"},
     "train.augment.rotate_deg: '10' is not a number >= 0"),
    (trainer_lib.check_param_dtype, "float16x",
     "train.param_dtype: 'float16x' is not one of 'float32', 'bfloat16', 'float64'"),
])
def test_bad_training_config_is_a_one_line_error(check, config, message):
  with pytest.raises(MerjaxError) as e:
    check(config)
  assert str(e.value) == message


def test_builders_check_their_config():
  with pytest.raises(MerjaxError, match=r"^train.optimizer.learning_rate: 'fast' is not a"):
    optim.make_optimizer({"name": "adam", "learning_rate": "fast"})
  with pytest.raises(MerjaxError, match=r"^train.loss.gama: unknown key"):
    losses.make_loss({"name": "focal", "gama": 1.0})
  _, subject_N = _data()
  tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
  with pytest.raises(MerjaxError, match=r"^train.param_dtype: 'half' is not one of"):
    dataclasses.replace(_functions(tables, STSTNet(num_classes=K)), param_dtype="half")
  with pytest.raises(MerjaxError, match=r"^train.augment.translate: unknown key; did you mean "
                                        r"train.augment.translate_px\?$"):
    _functions(tables, STSTNet(num_classes=K), augment={"translate": 2})


def test_partial_last_batch_fold_in_parallel_equals_fold_alone():
  """train.last_batch=partial (STSTNet's config): members with different training-set
  sizes mask their own last batch, so a fold's result still ignores its companions."""
  with jax.enable_x64(True):
    data, subject_N = _data(np.float64)
    keep = np.ones(len(subject_N), bool)
    keep[np.flatnonzero(subject_N == "s0")[:2]] = False      # unequal training-set sizes
    data = {"inputs": {"image": data["inputs"]["image"][keep]}, "y": data["y"][keep]}
    subject_N = subject_N[keep]
    folds = protocols.loso_folds(subject_N)
    tables = trainer_lib.member_tables(folds, [0], subject_N)
    fns = dataclasses.replace(_functions(tables, STSTNet(num_classes=K, dtype=jnp.float64),
                                         batch=5), last_batch="partial")
    together = _run(fns, data, tables, "vmap", group_size=len(tables), epochs=2)
    alone = _run(fns, data, tables, "vmap", group_size=1, epochs=2)
    full = _run(dataclasses.replace(fns, last_batch="full"), data, tables, "vmap",
                group_size=len(tables), epochs=2)
  assert len(set(tables.n_train_M.tolist())) > 1
  assert not np.allclose(full[0].loss_history, together[0].loss_history)   # partial is in effect
  for m in together:
    np.testing.assert_allclose(together[m].logits, alone[m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(together[m].loss_history, alone[m].loss_history, atol=1e-10)


def test_norm_stats_are_the_numpy_mean_and_std_of_the_training_pixels():
  """data.standardize's statistics (the trainer and experiments.replay): per channel over
  the first n_train indexed samples, every pixel counted; padding indices ignored."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(7, 4, 4, 3)).astype(np.float32) * [1.0, 2.0, 3.0] + [0.0, 5.0, -5.0]
  train_P = np.asarray([1, 3, 4, 6, 0, 0])            # 4 training samples, 2 padding
  (mean, std), = trainer_lib.norm_stats({"image": jnp.asarray(x)}, jnp.asarray(train_P),
                                         4).values()
  ref = x[[1, 3, 4, 6]].reshape(-1, 3)
  np.testing.assert_allclose(mean, ref.mean(0), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(std, ref.std(0) + 1e-6, rtol=1e-5)

"""train.shuffle (#19.1): false = every epoch visits the training samples in their dataset
order (the official STSTNet loop); a fold alone still equals the fold in a group."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax import config as config_lib
from merjax.configs import schema
from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.models.ststnet import STSTNet
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib

K = 3


def _setup(shuffle, dtype=np.float32):
  rng = np.random.default_rng(1)
  subject_N = np.asarray(["s0", "s1", "s2", "s0", "s1", "s2", "s1", "s0", "s2", "s1"])
  y = rng.integers(0, K, len(subject_N)).astype(np.int32)
  data = {"inputs": {"image": (rng.normal(size=(len(y), 8, 8, 3))
                               + y[:, None, None, None]).astype(dtype)}, "y": y}
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  fns = trainer_lib.FoldFunctions(
      model=STSTNet(num_classes=K, dtype=jnp.dtype(dtype)),
      loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-2}), batch_size=3,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, 3), augment={}, augment_roles=(),
      eval_batch_size=4, param_dtype=np.dtype(dtype).name, shuffle=shuffle)
  return data, folds, tables, fns


def test_no_shuffle_visits_the_training_samples_in_dataset_order():
  data, folds, tables, fns = _setup(shuffle=False)
  for m in range(len(tables)):
    row = tables.device_rows([m])
    row = jax.tree.map(lambda a: a[0], row)
    state = fns.init(data, row)
    for _ in range(2):                                         # two epochs, same order
      (key, _), order_N = fns.epoch_order(state, row)
      n = int(row["n_train"])
      visited = np.asarray(row["train"])[np.asarray(order_N)[:n]]
      np.testing.assert_array_equal(visited, np.flatnonzero(folds.train_FxN[m]))
      state = dict(state, key=key)
  shuffled = dataclasses.replace(fns, shuffle=True)
  (_, _), order_N = shuffled.epoch_order(state, row)
  assert not np.array_equal(np.asarray(order_N)[:n], np.arange(n))


def test_no_shuffle_fold_in_parallel_equals_fold_alone():
  with jax.enable_x64(True):
    data, _, tables, fns = _setup(shuffle=False, dtype=np.float64)
    run = lambda f, g: {r.member: r for r in strategies.run_members(
        f, data, tables, epochs=2, strategy="vmap", group_size=g,
        progress=strategies.Progress(1, 2))}
    together, alone = run(fns, len(tables)), run(fns, 1)
    shuffled = run(dataclasses.replace(fns, shuffle=True), len(tables))
  for m in together:
    np.testing.assert_allclose(together[m].logits, alone[m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(together[m].loss_history, alone[m].loss_history, atol=1e-10)
  assert not np.allclose(together[0].loss_history, shuffled[0].loss_history)


def test_train_shuffle_is_a_checked_config_key():
  config = config_lib.load_config("ststnet")
  assert config["train"]["shuffle"] is True or config["train"]["shuffle"] is False
  config["train"]["shuffle"] = False
  assert trainer_lib.config_options(config)["shuffle"] is False
  assert schema.lookup("train.shuffle").default is True
  config["train"]["shuffle"] = "no"
  with pytest.raises(MerjaxError, match=r"^train.shuffle: 'no'"):
    schema.validate(config)

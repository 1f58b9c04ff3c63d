"""Group sizing from the compiled program's memory analysis."""

import numpy as np
import pytest

from merjax import config as config_lib
from merjax.configs import schema
from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.models.ststnet import STSTNet
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib


def _setup(folds=6):
  rng = np.random.default_rng(0)
  subject_N = np.repeat([f"s{i}" for i in range(folds)], 4)
  data = {"inputs": {"image": rng.normal(size=(len(subject_N), 12, 12, 3)).astype(np.float32)},
          "y": rng.integers(0, 3, len(subject_N)).astype(np.int32)}
  tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
  fns = trainer_lib.FoldFunctions(
      model=STSTNet(num_classes=3), loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-3}), batch_size=8,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, 8), augment={}, augment_roles=())
  return fns, data, tables


def test_vmap_groups_shrink_when_memory_is_short(monkeypatch):
  fns, data, tables = _setup()
  fixed, per_member = strategies.memory_per_member(fns, data, tables, "vmap")
  assert per_member > 0
  in_use = 10**6
  monkeypatch.setattr(strategies, "memory_in_use_bytes", lambda: in_use)
  # Plenty of memory: every member in one call.
  monkeypatch.setattr(strategies, "device_memory_bytes", lambda: 10**12)
  assert strategies.auto_group_size(fns, data, tables, "vmap") == len(tables)
  # Room for about 2.5 members beyond the fixed part and what the process holds: 2 fit, so
  # 3 groups of 2 (6 members).
  monkeypatch.setattr(strategies, "device_memory_bytes",
                      lambda: int((in_use + fixed + 2.5 * per_member) / 0.6))
  assert strategies.auto_group_size(fns, data, tables, "vmap", fraction=0.6) == 2
  # The default fraction (train.memory_fraction) leaves more room: 1 member per call.
  assert strategies.MEMORY_FRACTION < 0.6 * 2 / 2.5
  assert strategies.auto_group_size(fns, data, tables, "vmap") == 1
  # 4 fit: 2 groups of 3, not 4 + 2 (the members spread over the fewest groups).
  monkeypatch.setattr(strategies, "device_memory_bytes",
                      lambda: int((in_use + fixed + 4.5 * per_member) / 0.6))
  assert strategies.auto_group_size(fns, data, tables, "vmap", fraction=0.6) == 3
  # Never below one member.
  monkeypatch.setattr(strategies, "device_memory_bytes", lambda: 1)
  assert strategies.auto_group_size(fns, data, tables, "vmap") == 1


def test_sequential_groups_are_capped_and_pad_the_fewest_members():
  fns, data, tables = _setup(folds=10)
  # 10 members: 2 groups of 5, not 8 + 2 padded to 16.
  assert strategies.auto_group_size(fns, data, tables, "sequential") == 5
  # Hand-counted paddings in [4, 8]: 68 members -> 4 (68), 26 -> 7 (28), 16 -> 8 (16).
  assert strategies.balanced_group_size(68, 8, 4) == 4
  assert strategies.balanced_group_size(26, 8, 4) == 7
  assert strategies.balanced_group_size(16, 8, 4) == 8
  assert strategies.balanced_group_size(3, 8, 4) == 3


def test_memory_fraction_is_checked():
  config = schema.validate(config_lib.resolve("ststnet", "synthetic",
                                              ["train.memory_fraction=0.5"]))
  assert config["train"]["memory_fraction"] == 0.5
  for bad, why in (("0", "is not above 0.0"), ("1.5", "is above 1.0")):
    with pytest.raises(MerjaxError, match=rf"^train.memory_fraction: {bad} {why}$"):
      schema.validate(config_lib.resolve("ststnet", "synthetic",
                                         [f"train.memory_fraction={bad}"]))

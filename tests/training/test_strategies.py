"""Group sizing from the compiled program's memory analysis."""

import numpy as np

from merjax.data import protocols
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
  # Plenty of memory: every member in one call.
  monkeypatch.setattr(strategies, "device_memory_bytes", lambda: 10**12)
  assert strategies.auto_group_size(fns, data, tables, "vmap") == len(tables)
  # Room for about 2.5 members beyond the fixed part: groups of 2.
  monkeypatch.setattr(strategies, "device_memory_bytes",
                      lambda: int((fixed + 2.5 * per_member) / 0.6))
  assert strategies.auto_group_size(fns, data, tables, "vmap") == 2
  # Never below one member.
  monkeypatch.setattr(strategies, "device_memory_bytes", lambda: 1)
  assert strategies.auto_group_size(fns, data, tables, "vmap") == 1


def test_sequential_groups_are_capped_for_incremental_results():
  fns, data, tables = _setup(folds=10)
  assert strategies.auto_group_size(fns, data, tables, "sequential") == \
      strategies.SEQUENTIAL_GROUP

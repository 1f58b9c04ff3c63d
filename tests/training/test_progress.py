"""In-epoch progress: the epoch program reports its steps to the host without changing them."""

import logging
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax import config as config_lib
from merjax import experiment
from merjax.configs import schema
from merjax.data import protocols
from merjax.models.ststnet import STSTNet
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib


def _setup():
  rng = np.random.default_rng(0)
  subject_N = np.repeat(["s0", "s1", "s2"], 6)      # 12 training samples per fold
  data = {"inputs": {"image": rng.normal(size=(len(subject_N), 8, 8, 3)).astype(np.float32)},
          "y": rng.integers(0, 3, len(subject_N)).astype(np.int32)}
  tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
  fns = trainer_lib.FoldFunctions(
      model=STSTNet(num_classes=3), loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-3}), batch_size=4,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, 4), augment={}, augment_roles=())
  return fns, data, tables


def test_steps_inside_an_epoch_are_logged_and_change_nothing(caplog):
  fns, data, tables = _setup()
  assert fns.steps_per_epoch == 3
  progress = strategies.Progress(1, 2, step_interval=0.0)
  with caplog.at_level(logging.INFO, logger=strategies.logger.name):
    results = strategies.run_members(fns, data, tables, epochs=2, strategy="vmap",
                                     group_size=3, progress=progress, step_progress=True)
  lines = [r.getMessage() for r in caplog.records]
  # vmap: one step call per step of the group (3 per epoch); the first one says the
  # compilation is over, the others show step k of 3 with a rate and an ETA.
  assert progress.ticks_per_epoch == 3
  assert sum("first step done (compile + 1 step" in x for x in lines) == 1
  steps = [re.search(r"epoch (\d)/2 step (\d)/3, [\d.]+ steps/s \(steady\), ETA", x)
           for x in lines]
  assert [m.groups() for m in steps if m] == [("1", "2"), ("1", "3"), ("2", "1"), ("2", "2"),
                                              ("2", "3")]
  # The same programs without a listener (no callback traced) compute the same bits.
  programs = strategies.compile_group_programs(fns, "vmap")
  d = jax.tree.map(jnp.asarray, data)
  rows = jax.tree.map(jnp.asarray, tables.device_rows([0, 1, 2]))
  state = programs.init(d, rows)
  for _ in range(2):
    state, _ = programs.epoch(d, state, rows)
  logits = np.asarray(programs.predict(d, state, rows))
  for j, r in enumerate(results):
    np.testing.assert_array_equal(r.logits, logits[j, :int(tables.n_test_M[j])])


def test_step_calls_per_strategy():
  """Hand-counted: sequential maps members one by one, chunked per chunk, vmap at once."""
  assert strategies.calls_per_step("sequential", 8) == 8
  assert strategies.calls_per_step("chunked", 8, chunk=3) == 3
  assert strategies.calls_per_step("vmap", 8) == 1
  assert strategies.calls_per_step("sequential", 8, devices=2) == 8
  assert strategies.calls_per_step("vmap", 8, devices=2) == 2


def test_only_long_epochs_get_step_progress():
  """20 s per group-epoch is the threshold: 100 epochs x 2 groups of 4,000 s is 20 s each."""
  assert not strategies.wants_step_progress(4000.0, epochs=100, num_groups=2)
  assert strategies.wants_step_progress(4001.0, epochs=100, num_groups=2)
  assert strategies.wants_step_progress(21.0, epochs=1, num_groups=1)


def test_estimate_counts_every_members_steps(monkeypatch):
  fns, data, tables = _setup()
  monkeypatch.setattr(strategies, "CPU_FLOPS_PER_CORE", 1e9)
  monkeypatch.setattr(strategies.os, "sched_getaffinity", lambda _: {0, 1})
  predicted, flops, steps = strategies.estimate_seconds(fns, data, tables, epochs=2)
  assert steps == 3 * 3 * 2                 # 3 members x ceil(12 / 4) steps x 2 epochs
  # At least STSTNet's 3x3 conv, forward + weight gradient: 2 x 2 x B x 10 x 10 x 16 x 27.
  assert flops > 2 * 2 * 4 * 10 * 10 * 16 * 27
  # The prediction is that arithmetic at 2 cores x 1e9 FLOP/s (no clock is read).
  rate = 2 * strategies.CPU_FLOPS_PER_CORE
  assert predicted * rate == pytest.approx(flops * steps)


def test_paper_size_configs_on_a_cpu_point_at_quick():
  fdp = schema.validate(config_lib.resolve("fdp", "synthetic", []))
  assert experiment.paper_size_warning(fdp).startswith(
      "warning: the paper-size fdp configuration on a CPU can take hours; `--quick`")
  assert experiment.paper_size_warning(
      schema.validate(config_lib.resolve("fdp", "synthetic", [], quick=True))) is None
  assert experiment.paper_size_warning(
      schema.validate(config_lib.resolve("ststnet", "synthetic", []))) is None   # no QUICK

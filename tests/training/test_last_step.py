"""train.last_batch=partial: the run's last step of an epoch runs only as wide as it needs,
and the steps every member fills run without a mask."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from merjax.data import protocols
from merjax.models.ststnet import STSTNet
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib


def test_narrow_last_step_computes_what_the_padded_one_does():
  """Same bits up to float64 rounding, dropout included: partitionable threefry (jax's
  default; the test suite turns it off to compile faster) draws a row's random numbers
  whatever the batch width."""
  rng = np.random.default_rng(0)
  # Subjects of 5, 4 and 3 clips: 7, 8 and 9 training samples; batch 4 -> 2, 2 and 3 steps.
  subject_N = np.repeat(["s0", "s1", "s2"], [5, 4, 3])
  with jax.enable_x64(True), jax.threefry_partitionable(True):
    data = {"inputs": {"image": rng.normal(size=(len(subject_N), 8, 8, 3))},
            "y": rng.integers(0, 3, len(subject_N)).astype(np.int32)}
    tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
    assert tables.n_train_M.tolist() == [7, 8, 9]
    # Only the 9-sample member takes the 3rd step, with 9 - 2 * 4 = 1 sample.
    assert trainer_lib.steps_per_epoch(tables, 4) == 3
    assert trainer_lib.last_step_batch(tables, 4) == 1
    assert trainer_lib.last_step_batch(tables, 3) == 3       # 7, 8, 9 -> 3 steps; 9 - 6 = 3
    padded = trainer_lib.FoldFunctions(
        model=STSTNet(num_classes=3, dtype=jnp.float64),
        loss_fn=losses.make_loss({"name": "cross_entropy"}),
        tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-2}), batch_size=4,
        steps_per_epoch=3, augment={}, augment_roles=(), param_dtype="float64",
        last_batch="partial")
    # The first step is full for every member (7, 8, 9 >= 4): it runs without a mask.
    assert trainer_lib.full_steps(tables, 4) == 1
    narrow = dataclasses.replace(padded, last_step_batch=1, full_steps=1)
    runs = [{r.member: r for r in strategies.run_members(
        fns, data, tables, epochs=2, strategy="vmap", group_size=3,
        progress=strategies.Progress(1, 2))} for fns in (padded, narrow)]
  for m in range(3):
    np.testing.assert_allclose(runs[1][m].logits, runs[0][m].logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(runs[1][m].loss_history, runs[0][m].loss_history, atol=1e-10)
  # The members really trained differently (the comparison is not vacuous).
  assert not np.allclose(runs[0][0].loss_history, runs[0][2].loss_history)

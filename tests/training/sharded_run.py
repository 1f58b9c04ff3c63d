"""Helper for test_sharding: trains 4 tiny members (float64) and prints their
logits as JSON. Run with XLA_FLAGS=--xla_force_host_platform_device_count=N."""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np

from merjax.data import protocols
from merjax.models.ststnet import STSTNet
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib


def main(strategy):
  jax.config.update("jax_enable_x64", True)
  rng = np.random.default_rng(0)
  subject_N = np.repeat([f"s{i}" for i in range(4)], 5)
  y_N = rng.integers(0, 3, len(subject_N)).astype(np.int32)
  data = {"inputs": {"image": rng.normal(size=(len(subject_N), 12, 12, 3))}, "y": y_N}
  tables = trainer_lib.member_tables(protocols.loso_folds(subject_N), [0], subject_N)
  fns = trainer_lib.FoldFunctions(
      model=STSTNet(num_classes=3, dtype=jnp.float64),
      loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 1e-2}), batch_size=8,
      steps_per_epoch=trainer_lib.steps_per_epoch(tables, 8), augment={"flip": True},
      augment_roles=("image",), param_dtype="float64")
  quiet = strategies.Progress(1, 2)
  results = strategies.run_members(fns, data, tables, epochs=2, strategy=strategy,
                                   group_size=3, progress=quiet)
  print(json.dumps({"devices": jax.device_count(),
                    "logits": {r.member: r.logits.tolist() for r in results}}))


if __name__ == "__main__":
  main(sys.argv[1])

"""Times fold-parallel training strategies against sequential per-fold training.

  python tools/bench_trainer.py --model ststnet --folds 4 --batch 256 --epochs 3 \
      --strategies sequential,vmap,chunked --torch

For a model from the registry (its config's input shapes, random data of
`--per-subject` samples per subject), it trains every LOSO fold with each
strategy and prints per-fold-step times (steady state, compile excluded) and
ratios as Markdown rows for docs/benchmarks.md. `--torch` adds the peer
baseline: STSTNet trained the way its PyTorch reference does it (a fresh model
per subject, one after another), when torch is installed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merjax import config as config_lib  # pylint: disable=wrong-import-position
from merjax.data import protocols  # pylint: disable=wrong-import-position
from merjax.models.registry import build_model  # pylint: disable=wrong-import-position
from merjax.training import losses, optim, strategies  # pylint: disable=wrong-import-position
from merjax.training import trainer as trainer_lib  # pylint: disable=wrong-import-position


def make_data(shapes, folds, per_subject, num_classes, seed=0):
  rng = np.random.default_rng(seed)
  n = folds * per_subject
  y_N = rng.integers(0, num_classes, n).astype(np.int32)
  inputs = {r: rng.normal(size=(n,) + tuple(s)).astype(np.float32) for r, s in shapes.items()}
  subject_N = np.repeat([f"s{i:02d}" for i in range(folds)], per_subject)
  return {"inputs": inputs, "y": y_N}, subject_N


class EpochClock(strategies.Progress):
  """Records when each epoch of each group ends."""

  def __init__(self, epochs):
    super().__init__(1, epochs, stream=open(os.devnull, "w"))
    self.ends: list[tuple[int, int, float]] = []

  def epoch(self, group, epoch, loss, group_start, force=False):
    self.ends.append((group, epoch, time.perf_counter()))


def time_strategy(fns, data, tables, strategy, group, chunk, epochs):
  """(seconds to the end of the first epoch of the first group, i.e. compile +
  one epoch; steady seconds per epoch over all members, compile excluded)."""
  clock = EpochClock(epochs + 1)
  t0 = time.perf_counter()
  strategies.run_members(fns, data, tables, epochs=epochs + 1, strategy=strategy,
                         group_size=group, chunk=chunk, progress=clock)
  first = clock.ends[0][2] - t0
  steady = 0.0
  for g in sorted({e[0] for e in clock.ends}):
    times = [t for gg, _, t in clock.ends if gg == g]
    steady += (times[-1] - times[0]) / (len(times) - 1)
  return first, steady


def torch_ststnet_per_fold_step(folds, per_subject, batch, epochs, num_classes):
  """Per-fold-step ms of the PyTorch reference loop (fresh model per subject)."""
  import torch  # pylint: disable=import-outside-toplevel
  from torch import nn  # pylint: disable=import-outside-toplevel

  class Net(nn.Module):
    def __init__(self):
      super().__init__()
      def stream(c):
        return nn.Sequential(nn.Conv2d(3, c, 3, padding=2), nn.ReLU(), nn.BatchNorm2d(c),
                             nn.MaxPool2d(3, 3, padding=1), nn.Dropout(0.5))
      self.streams = nn.ModuleList([stream(3), stream(5), stream(8)])
      self.pool = nn.AvgPool2d(2, 2)
      self.fc = nn.Linear(400, num_classes)

    def forward(self, x):
      x = torch.cat([s(x) for s in self.streams], 1)
      return self.fc(self.pool(x).flatten(1))

  torch.manual_seed(0)
  n = folds * per_subject
  x = torch.randn(n, 3, 28, 28)
  y = torch.randint(0, num_classes, (n,))
  subject = np.repeat(np.arange(folds), per_subject)
  steps = 0
  t_total = 0.0
  for f in range(folds):
    train = torch.from_numpy(np.flatnonzero(subject != f))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=5e-5)
    loss_fn = nn.CrossEntropyLoss()
    for e in range(epochs + 1):
      t0 = time.perf_counter()
      order = train[torch.randperm(len(train))]
      for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        opt.zero_grad()
        loss_fn(net(x[idx]), y[idx]).backward()
        opt.step()
        if e > 0:
          steps += 1
      if e > 0:  # the first epoch is warm-up
        t_total += time.perf_counter() - t0
  return 1000 * t_total / steps


def main(argv=None):
  parser = argparse.ArgumentParser()
  parser.add_argument("--model", default="ststnet")
  parser.add_argument("--folds", type=int, default=4)
  parser.add_argument("--per-subject", type=int, default=64)
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--size", type=int, default=None, help="override input H=W")
  parser.add_argument("--classes", type=int, default=3)
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--strategies", default="sequential,vmap,chunked")
  parser.add_argument("--chunk", type=int, default=2)
  parser.add_argument("--torch", action="store_true")
  parser.add_argument("overrides", nargs="*", help="model config key=value")
  args = parser.parse_args(argv)

  config = config_lib.apply_overrides(config_lib.load_config(args.model), args.overrides)
  shapes = dict(config["model"]["input_shapes"])
  if args.size:
    shapes = {r: (args.size, args.size) + tuple(s[2:]) for r, s in shapes.items()}
  data, subject_N = make_data(shapes, args.folds, args.per_subject, args.classes)
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  model = build_model(config["model"], args.classes)
  fns = trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss({"name": "cross_entropy"}),
      tx=optim.make_optimizer({"name": "adam", "learning_rate": 5e-5}),
      batch_size=args.batch, steps_per_epoch=trainer_lib.steps_per_epoch(tables, args.batch),
      augment={}, augment_roles=())
  fold_steps = sum(-(-int(n) // args.batch) for n in tables.n_train_M)
  device = f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind}, {os.cpu_count()} cores)"
  print(f"# {args.model}, {args.folds} folds, batch {args.batch}, inputs {shapes}, "
        f"{fold_steps} fold-steps per epoch, device {device}, jax {jax.__version__}, "
        f"{platform.python_version()}")
  print("| strategy | members per call | compile + 1st epoch (s) | ms per fold-step | vs sequential |")
  print("|---|---:|---:|---:|---:|")
  rows = []
  for spec in args.strategies.split(","):
    name, _, group = spec.partition(":")
    group_size = int(group) if group else args.folds
    first, per_epoch = time_strategy(fns, data, tables, name, group_size, args.chunk,
                                     args.epochs)
    rows.append((f"{name}" + (f" (chunk {args.chunk})" if name == "chunked" else ""),
                 group_size, first, 1000 * per_epoch / fold_steps))
  base = next((r[3] for r in rows if r[0] == "sequential"), rows[0][3])
  for name, group, first, ms in rows:
    print(f"| merjax {name} | {group} | {first:.1f} | {ms:.1f} | {base / ms:.2f}x |")
  if args.torch and args.model == "ststnet":
    try:
      ms = torch_ststnet_per_fold_step(args.folds, args.per_subject, args.batch,
                                       args.epochs, args.classes)
      print(f"| PyTorch reference loop (fresh model per fold) | 1 | - | {ms:.1f} | "
            f"{base / ms:.2f}x |")
    except ImportError:
      print("| PyTorch reference loop | - | - | torch not installed | - |")


if __name__ == "__main__":
  main()

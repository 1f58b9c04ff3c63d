"""Times fold-parallel training strategies against sequential per-fold training.

  python tools/bench_trainer.py --model ststnet --folds 4 --batch 256 --epochs 3 \
      --strategies sequential,vmap,chunked --torch
  python tools/bench_trainer.py --model meganet --folds 2 --per-subject 8 --batch 32 \
      --epochs 2 --strategies sequential,vmap --dtype bfloat16 --attention-impl fused

For a model from the registry (its config's input shapes, random data of
`--per-subject` samples per subject; the config's own loss and optimizer), it trains every LOSO fold with each
strategy and prints per-fold-step times (steady state, compile excluded) and
ratios as Markdown rows for docs/benchmarks.md, with the time one LOSO epoch
and a whole LOSO run of a `--project-subjects` x `--project-clips` dataset would
take at that rate (CASME II-sized by default: 26 subjects, 255 clips, batch 32,
50 epochs; compile and evaluation excluded). `--dtype` and `--attention-impl`
set the model's compute dtype and attention (MEGANet: model.dtype,
model.attention_impl). `--torch` adds the peer baseline: STSTNet trained the
way its PyTorch reference does it (a fresh model per subject, one after
another), when torch is installed. Each row also gives the process's peak RSS so far; for the
whole composite LOSO against the PyTorch loop, one process per row, see tools/bench_vs_torch.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # torch_models

from merjax import config as config_lib  # pylint: disable=wrong-import-position
from merjax.data import protocols  # pylint: disable=wrong-import-position
from merjax.models import inputs  # pylint: disable=wrong-import-position
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
    super().__init__(1, epochs)
    self.ends: list[tuple[int, int, float]] = []

  def epoch(self, group, epoch, loss, group_start, force=False):
    self.ends.append((group, epoch, time.perf_counter()))
    print(f"  group {group} epoch {epoch}: {time.perf_counter() - group_start:.1f} s",
          file=sys.stderr, flush=True)


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


def loso_fold_steps(subjects: int, clips: int, batch: int) -> int:
  """Fold-steps of one LOSO epoch: sum over folds of ceil(n_train / batch), the
  clips split as evenly as possible over the subjects."""
  per_subject_S = np.array([len(a) for a in np.array_split(np.arange(clips), subjects)])
  return int(sum(-(-(clips - n) // batch) for n in per_subject_S))


def _peak_rss_mb() -> float:
  """This process's peak resident set so far (rows run in one process: a row's own peak is
  at most this; tools/bench_vs_torch.py runs each row in its own process)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
  try:
    return f"{os.getloadavg()[0]:.1f}"
  except OSError:
    return "n/a"


def torch_ststnet_per_fold_step(folds, per_subject, batch, epochs, num_classes):
  """Per-fold-step ms of the PyTorch reference loop (fresh model per subject)."""
  import torch  # pylint: disable=import-outside-toplevel
  import torch_models  # pylint: disable=import-outside-toplevel

  torch.manual_seed(0)
  n = folds * per_subject
  x = torch.randn(n, 3, 28, 28)
  y = torch.randint(0, num_classes, (n,))
  subject = np.repeat(np.arange(folds), per_subject)
  steps = 0
  t_total = 0.0
  for f in range(folds):
    train = torch.from_numpy(np.flatnonzero(subject != f))
    net = torch_models.STSTNet(num_classes)
    opt = torch.optim.Adam(net.parameters(), lr=5e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
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
  parser.add_argument("--dtype", default=None, help="model.dtype (e.g. float32, bfloat16)")
  parser.add_argument("--attention-impl", default=None, help="model.attention_impl (plain, fused)")
  parser.add_argument("--eval-batch", type=int, default=None,
                      help="eval batch of the final predict (default: min(64, per-subject))")
  parser.add_argument("--project-subjects", type=int, default=26)
  parser.add_argument("--project-clips", type=int, default=255)
  parser.add_argument("--project-epochs", type=int, default=50)
  parser.add_argument("--torch", action="store_true")
  parser.add_argument("overrides", nargs="*", help="model config key=value")
  args = parser.parse_args(argv)

  overrides = list(args.overrides)
  if args.dtype:
    overrides.append(f"model.dtype={args.dtype}")
  if args.attention_impl:
    overrides.append(f"model.attention_impl={args.attention_impl}")
  config = config_lib.resolve(args.model, "synthetic", overrides)
  shapes = dict(inputs.input_shapes(config))
  if args.size:
    shapes = {r: tuple(s[:-3]) + (args.size, args.size, s[-1]) for r, s in shapes.items()}
  data, subject_N = make_data(shapes, args.folds, args.per_subject, args.classes)
  folds = protocols.loso_folds(subject_N)
  tables = trainer_lib.member_tables(folds, [0], subject_N)
  model = build_model(config["model"], args.classes)
  fns = trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss(config["train"]["loss"]),
      tx=optim.make_optimizer(config["train"]["optimizer"]),
      batch_size=args.batch, steps_per_epoch=trainer_lib.steps_per_epoch(tables, args.batch),
      augment={}, augment_roles=(),
      eval_batch_size=args.eval_batch or min(64, args.per_subject))
  fold_steps = sum(-(-int(n) // args.batch) for n in tables.n_train_M)
  project_steps = loso_fold_steps(args.project_subjects, args.project_clips, args.batch)
  device = f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind}, {os.cpu_count()} cores)"
  model_cfg = config["model"]
  print(f"# {args.model} (dtype {model_cfg.get('dtype', 'float32')}, attention "
        f"{model_cfg.get('attention_impl', '-')}), {args.folds} folds, batch {args.batch}, "
        f"inputs {shapes}, {fold_steps} fold-steps per epoch, {args.epochs} timed epochs, "
        f"device {device}, jax {jax.__version__}, {platform.python_version()}")
  print(f"# projection: {args.project_subjects} folds x {args.project_clips} clips at batch "
        f"{args.batch} = {project_steps} fold-steps per LOSO epoch, x {args.project_epochs} epochs")
  print(f"| strategy | members per call | compile + 1st epoch (s) | ms per fold-step | vs first row "
        f"| one {args.project_subjects}-fold epoch (s) | {args.project_epochs}-epoch LOSO (min) "
        f"| peak RSS so far (MB) | load before/after |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---|", flush=True)
  base = None   # ms per fold-step of the first row (list sequential first)
  for spec in args.strategies.split(","):
    name, _, group = spec.partition(":")
    group_size = int(group) if group else args.folds
    before = _load()
    first, per_epoch = time_strategy(fns, data, tables, name, group_size, args.chunk,
                                     args.epochs)
    ms = 1000 * per_epoch / fold_steps
    base = base or ms
    label = name + (f" (chunk {args.chunk})" if name == "chunked" else "")
    epoch_s = ms * project_steps / 1000
    print(f"| merjax {label} | {group_size} | {first:.1f} | {ms:.1f} | {base / ms:.2f}x "
          f"| {epoch_s:.1f} | {epoch_s * args.project_epochs / 60:.1f} | {_peak_rss_mb():.0f} "
          f"| {before}/{_load()} |",
          flush=True)
  if args.torch and args.model == "ststnet":
    try:
      ms = torch_ststnet_per_fold_step(args.folds, args.per_subject, args.batch,
                                       args.epochs, args.classes)
      epoch_s = ms * project_steps / 1000
      print(f"| PyTorch reference loop (fresh model per fold) | 1 | - | {ms:.1f} | "
            f"{base / ms:.2f}x | {epoch_s:.1f} | {epoch_s * args.project_epochs / 60:.1f} "
            f"| {_peak_rss_mb():.0f} | - |")
    except ImportError:
      print("| PyTorch reference loop | - | - | torch not installed | - |")


if __name__ == "__main__":
  main()

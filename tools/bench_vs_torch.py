"""The whole STSTNet LOSO, merjax strategies against the PyTorch reference loop, side by side.

  python tools/bench_vs_torch.py --folds 68 --epochs 5 --repeats 2 --runs torch,sequential,vmap:8
  python tools/bench_vs_torch.py --cpus 0 --folds 68 --epochs 5 --repeats 2    # pinned to one core
  python tools/bench_vs_torch.py --model meganet --folds 1 --epochs 1 --repeats 2   # 224 x 224
  python tools/bench_vs_torch.py --model fdp --folds 4 --epochs 1 --repeats 2       # FDP QUICK

`--model meganet | fdp` (issue 21): the same comparison for MEGANet (its config: 224 x 224 x 3
MESTI-shaped images in [0, 1], 3 classes, Adam 1e-3 with L2 1e-4, batch 32, focal loss, flip and
+-5/+-10 deg rotations) and FDP at its QUICK size (T = 8 frames of 32 x 32 x 3 in [0, 1], 5
classes, Adam 1e-4, batch 16, CE + 100 L_DIC + 0.1 L_rank, flip and +-2 px shifts), both with the
config's last-batch rule (`full`: the last batch wraps around the shuffled set). The data is a
synthetic layout shaped like CASME II (`--subjects` 26, `--clips` 255, random labels) of which
`--folds` held-out subjects are run (the first ones, sorted). The torch twins are
tools/torch_models.py; before any timing the parent asserts that each has the Flax model's
parameter count (merjax.models.summary). `--set KEY=VALUE` overrides the config of both sides
(e.g. tiny widths in tests). `--ab` stays STSTNet only.

The MEGC2019 composite's real layout (megc2019_gt.csv: 442 clips over 68 subjects, its labels)
with random 28 x 28 x 3 images; the STSTNet config's training settings (Adam 5e-5, batch 256,
partial last batch, PyTorch initialisers). Every run is its own child process, started in turn
A B A B (`--repeats` rounds over `--runs`), so the rows share one machine state; the parent
times each whole process and reads its peak RSS (os.wait4). A run is
- `torch`: the official code's loop, a fresh model and Adam per held-out subject, one subject
  after another, a DataLoader-style shuffled batch of 256 with a smaller last batch;
- `STRATEGY[:GROUP][+key=value...]`: merjax's strategies.run_members over all folds
  (STRATEGY sequential | vmap | chunked; GROUP members per call, default auto; config
  overrides after `+`, e.g. `sequential:4+model.conv_impl=xla`; `+bench.trim=false` runs the
  last step of an epoch at the full batch width, as merjax did before trainer.last_step_batch).
`--ab SPEC,SPEC,...` instead compares merjax programs in one process (each spec's compiled epoch for
the same `--members` folds, called in turn `--calls` times; min / median wall and CPU ms per
fold-step): steadier than whole processes on a shared machine.
Columns: the process wall time (imports and data included), compile (JAX's trace + lower +
backend-compile events; 0 for torch), train (the run_members call or the torch loop, compile
included), fold-steps (optimizer steps summed over folds: the same for every row), ms per
fold-step ((train - compile) / fold-steps), the samples the steps computed (padding included),
peak RSS, the process's CPU seconds (all threads: on a shared machine a steadier measure than
the wall time) and the speed-ups over the median torch process. The lead pastes the table into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools"))   # torch_models

BATCH = 256
CLASSES = 3
MODELS = ("ststnet", "meganet", "fdp")
TWIN_CLASSES = {"meganet": 3, "fdp": 5}   # the MESTI paper's 3 classes; FDP's CASME II 5
TWIN_DEFAULTS = {"epochs": 1, "subjects": 26, "clips": 255}
# Held-out subjects run by default: a MEGANet fold-step at 224 x 224 and batch 32 takes tens of
# seconds to minutes on a 2-core CPU (docs/benchmarks.md), so one fold (8 fold-steps); FDP 4.
TWIN_FOLDS = {"meganet": 1, "fdp": 4}


def composite_layout(folds: int):
  """(subject_N, y_N) of the MEGC2019 composite's first `folds` subjects (all 68 by default)."""
  from merjax.data import megc2019  # pylint: disable=import-outside-toplevel
  rows = megc2019.ground_truth()
  subject_N = np.asarray([f"{d}/{s}" for d, s, _, _ in rows])
  keep = np.isin(subject_N, sorted(set(subject_N.tolist()))[:folds])
  return subject_N[keep], np.asarray([c for *_, c in rows], np.int32)[keep]


def images(n: int, size: int, seed: int = 0) -> np.ndarray:
  """n x size x size x 3 float32 stand-in images on the flow-strain 0-255 scale."""
  return (np.random.default_rng(seed).normal(size=(n, size, size, 3)) * 40).astype(np.float32)


# --- MEGANet / FDP: a CASME II-shaped synthetic layout, the configs, the torch twins -----------
def twin_config(model: str, overrides=()):
  """The merjax config of `model` (FDP with its QUICK overrides), then `overrides`."""
  from merjax import config as config_lib  # pylint: disable=import-outside-toplevel
  return config_lib.resolve(model, "synthetic", list(overrides), quick=model == "fdp")


def twin_layout(subjects: int, clips: int, classes: int, seed: int = 0):
  """(subject_N, y_N): `clips` clips over `subjects` subjects (at least 2 each, the rest spread
  at random, as uneven as CASME II's 26 subjects / 255 clips), random labels."""
  rng = np.random.default_rng(seed)
  assert clips >= 2 * subjects, f"--clips {clips} < 2 x --subjects {subjects}"
  counts = 2 + np.bincount(rng.integers(0, subjects, clips - 2 * subjects), minlength=subjects)
  subject_N = np.repeat([f"sub{i + 1:02d}" for i in range(subjects)], counts)
  return subject_N, rng.integers(0, classes, clips).astype(np.int32)


def twin_inputs(config, n: int, offsets: int = 1, seed: int = 0) -> tuple[str, np.ndarray]:
  """(role, inputs in [0, 1]): MEGANet N x S x S x 3 images; FDP N x T x S x S x 3 frames, or
  N x T x M x S x S x 3 under temporal_mode fdp_offsets (M = `offsets` start offsets, all
  valid); S and T from the config's data.preprocess."""
  (role,) = config["data"]["inputs"]
  pre = config["data"]["preprocess"]
  shape = (n, pre["size"], pre["size"], 3)
  if role == "frames":
    m = (offsets,) if pre["temporal_mode"] == "fdp_offsets" else ()
    shape = (n, pre["num_frames"]) + m + shape[1:]
  return role, np.random.default_rng(seed).random(shape, dtype=np.float32)


def twin_fields(model: str, overrides=()) -> tuple[dict, int, int]:
  """(the Flax model's fields as JSON values, its parameters by merjax.models.summary, the torch
  twin's parameters) of the config."""
  import torch_models  # pylint: disable=import-outside-toplevel

  from merjax.models import summary  # pylint: disable=import-outside-toplevel
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel
  config = twin_config(model, overrides)
  flax_model = build_model(config["model"], TWIN_CLASSES[model])
  role, x = twin_inputs(config, 1)
  x = x[:, :, 0] if x.ndim == 6 else x           # the model's view of offset windows
  flax_n = summary.describe(flax_model, {role: x.shape})["params"]
  fields = torch_models.fields_of(flax_model)
  net = torch_models.build(model, fields, **twin_kwargs(x))
  return fields, flax_n, torch_models.count_params(net)


def twin_kwargs(x) -> dict:
  """torch_models.build's extra arguments for inputs x (FDP: the frame count)."""
  return {"frames": x.shape[1]} if x.ndim >= 5 else {}


def torch_twin_loop(model: str, config, fields: dict, subject_N, y_N, x, folds: int,
                    epochs: int, threads: int) -> dict:
  """The reference loop for MEGANet / FDP: per held-out subject (the first `folds`) a fresh
  torch twin and Adam (the config's lr and coupled L2), `epochs` epochs of shuffled batches of
  the config's size (last batch: `partial` smaller, `full` wrapped around the shuffled set), the
  config's augmentation and loss, then the test logits; offset windows (N x T x M x ...):
  per sample and visit one offset uniformly, offset 0 at test. `fields`: the Flax model's
  (twin_fields; passed in, so this process never imports JAX)."""
  import torch  # pylint: disable=import-outside-toplevel
  import torch_models  # pylint: disable=import-outside-toplevel
  if threads > 0:
    torch.set_num_threads(threads)
  train_cfg = config["train"]
  opt_cfg = train_cfg["optimizer"]
  assert opt_cfg["name"] == "adam", opt_cfg
  batch, last = train_cfg["batch_size"], train_cfg["last_batch"]
  eval_batch = train_cfg["eval_batch_size"]
  aug = {k: train_cfg["augment"].get(k, d)
         for k, d in (("flip", False), ("rotate_deg", 0.0), ("translate_px", 0.0))}
  loss_opts = {k: v for k, v in train_cfg["loss"].items() if k != "name"}
  frames = x.ndim >= 5
  perm = {4: (0, 3, 1, 2), 5: (0, 1, 4, 2, 3), 6: (0, 1, 2, 5, 3, 4)}[x.ndim]
  torch.manual_seed(0)
  xt = torch.from_numpy(np.ascontiguousarray(x.transpose(perm)))
  y = torch.from_numpy(y_N.astype(np.int64))

  def loss_fn(net, xb, yb):
    out = net(xb)
    if frames:
      return torch_models.fdp_loss(out, xb, yb, **loss_opts)
    return torch_models.focal_loss(out, yb, **loss_opts)

  steps = samples = 0
  for subject in sorted(set(subject_N.tolist()))[:folds]:
    train = torch.from_numpy(np.flatnonzero(subject_N != subject))
    test = torch.from_numpy(np.flatnonzero(subject_N == subject))
    net = torch_models.build(model, fields, **twin_kwargs(x))
    opt = torch.optim.Adam(net.parameters(), lr=opt_cfg["learning_rate"],
                           weight_decay=opt_cfg.get("weight_decay", 0.0))
    net.train()
    for _ in range(epochs):
      order = train[torch.randperm(len(train))]
      for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        if last == "full" and len(idx) < batch:   # wraps around the shuffled set
          idx = order[torch.arange(i, i + batch) % len(order)]
        xb = xt[idx]
        if xb.ndim == 6:   # B x T x M x C x H x W: one offset per sample
          xb = xb[torch.arange(len(idx)), :, torch.randint(xb.shape[2], (len(idx),))]
        opt.zero_grad()
        loss_fn(net, torch_models.augment(xb, **aug), y[idx]).backward()
        opt.step()
        steps += 1
        samples += len(idx)
    net.eval()
    with torch.no_grad():
      for i in range(0, len(test), eval_batch):
        xb = xt[test[i:i + eval_batch]]
        out = net(xb[:, :, 0] if xb.ndim == 6 else xb)
        logits = out["logits"] if frames else out
        assert torch.isfinite(logits).all()
  return {"compile_s": 0.0, "steps": steps, "samples": samples,
          "threads": torch.get_num_threads()}


# --- the PyTorch reference loop --------------------------------------------------------------
def torch_loop(subject_N, y_N, x_NxHxWxC, epochs: int, threads: int) -> dict:
  """The official STSTNet loop: per held-out subject a fresh net and Adam(5e-5), `epochs`
  epochs of shuffled batches of 256 (the last one smaller), then the test logits."""
  import torch  # pylint: disable=import-outside-toplevel
  import torch_models  # pylint: disable=import-outside-toplevel
  if threads > 0:
    torch.set_num_threads(threads)

  torch.manual_seed(0)
  x = torch.from_numpy(np.ascontiguousarray(x_NxHxWxC.transpose(0, 3, 1, 2)))
  y = torch.from_numpy(y_N.astype(np.int64))
  steps = samples = 0
  for subject in sorted(set(subject_N.tolist())):
    train = torch.from_numpy(np.flatnonzero(subject_N != subject))
    test = torch.from_numpy(np.flatnonzero(subject_N == subject))
    net = torch_models.STSTNet(CLASSES)
    opt = torch.optim.Adam(net.parameters(), lr=5e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    for _ in range(epochs):
      order = train[torch.randperm(len(train))]
      for i in range(0, len(order), BATCH):
        idx = order[i:i + BATCH]
        opt.zero_grad()
        loss_fn(net(x[idx]), y[idx]).backward()
        opt.step()
        steps += 1
        samples += len(idx)
    net.eval()
    with torch.no_grad():
      net(x[test])
  return {"compile_s": 0.0, "steps": steps, "samples": samples,
          "threads": torch.get_num_threads()}


# --- merjax ----------------------------------------------------------------------------------
def merjax_functions(subject_N, spec: str, model_name: str = "ststnet", base=(), folds_n=0):
  """(FoldFunctions, member tables, strategy, group size or 0, chunk) of a run spec; for
  MEGANet / FDP `base` overrides (`--set`) come first and only the first `folds_n` folds run."""
  from merjax import config as config_lib  # pylint: disable=import-outside-toplevel
  from merjax import experiment  # pylint: disable=import-outside-toplevel
  from merjax.data import protocols  # pylint: disable=import-outside-toplevel
  from merjax.models.registry import build_model  # pylint: disable=import-outside-toplevel

  name, *overrides = spec.split("+")
  strategy, _, group = name.partition(":")
  bench = dict(o[len("bench."):].split("=", 1) for o in overrides if o.startswith("bench."))
  rest = [o for o in overrides if not o.startswith("bench.")]
  folds = protocols.loso_folds(subject_N)
  if model_name == "ststnet":
    config = config_lib.resolve("ststnet", "synthetic", rest)
    model = build_model(config["model"], CLASSES)
  else:
    config = twin_config(model_name, list(base) + rest)
    model = build_model(config["model"], TWIN_CLASSES[model_name])
    folds = folds.select(range(folds_n))
  tables = experiment.member_tables(config, folds, subject_N)
  fns = experiment.build_fold_functions(config, model, tables, tuple(config["data"]["inputs"]))
  if bench.get("trim", "true") == "false":   # every step full-width and masked (before)
    fns = dataclasses.replace(fns, last_step_batch=0, full_steps=0)
  return fns, tables, strategy, int(group) if group else 0, config["train"]["chunk"]


def merjax_run(subject_N, y_N, x_NxHxWxC, epochs: int, spec: str, model_name: str = "ststnet",
               base=(), folds_n=0) -> dict:
  """strategies.run_members over the folds (every composite fold with the STSTNet config;
  the first `folds_n` of the layout with MEGANet / FDP); x: the model's one input role."""
  import jax  # pylint: disable=import-outside-toplevel
  from jax import monitoring  # pylint: disable=import-outside-toplevel

  from merjax.training import strategies  # pylint: disable=import-outside-toplevel

  fns, tables, strategy, group, chunk = merjax_functions(subject_N, spec, model_name, base,
                                                         folds_n)
  compile_s = [0.0]

  def on_event(event, seconds, **_):
    if event.startswith("/jax/core/compile/"):
      compile_s[0] += seconds
  monitoring.register_event_duration_secs_listener(on_event)
  (role,) = fns.augment_roles or ("image",)
  data = {"inputs": {role: x_NxHxWxC}, "y": y_N}
  group_size = group or strategies.auto_group_size(fns, data, tables, strategy, chunk)
  compile_s[0] = 0.0   # the group-size estimate's compiles are not the run's
  results = strategies.run_members(fns, data, tables, epochs=epochs, strategy=strategy,
                                   group_size=group_size, chunk=chunk)
  assert all(np.isfinite(r.logits).all() for r in results if not r.failed)
  b = fns.batch_size
  steps = sum(-(-int(n) // b) for n in tables.n_train_M) * epochs
  groups = len(strategies.member_groups(len(tables), group_size))
  padded_members = groups * group_size
  last = fns.last_step_batch if 0 < fns.last_step_batch < b and fns.last_batch == "partial" else b
  per_epoch = (fns.steps_per_epoch - 1) * b + last
  samples = padded_members * per_epoch * epochs   # the rows the programs compute
  return {"compile_s": compile_s[0], "steps": steps, "samples": samples,
          "group_size": group_size, "device": jax.devices()[0].platform}


def in_process_ab(specs: list[str], calls: int, members: int) -> None:
  """Levers side by side in one process: each spec's compiled epoch program for the same
  first `members` composite folds, called in turn `calls` times; prints min and median
  wall and CPU (process) ms per fold-step. Steadier than whole processes on a shared CPU."""
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel

  from merjax.training import strategies  # pylint: disable=import-outside-toplevel
  subject_N, y_N = composite_layout(68)
  data = jax.tree.map(jnp.asarray, {"inputs": {"image": images(len(subject_N), 28)}, "y": y_N})
  programs = {}
  for spec in specs:
    fns, tables, strategy, _, chunk = merjax_functions(subject_N, spec)
    rows = jax.tree.map(jnp.asarray, tables.device_rows(list(range(members))))
    group = strategies.compile_group_programs(fns, strategy, chunk)
    state = group.init(data, rows)
    epoch = group.epoch.lower(data, state, rows).compile()
    state, _ = epoch(data, state, rows)
    steps = sum(-(-int(n) // fns.batch_size) for n in tables.n_train_M[:members])
    programs[spec] = [epoch, state, rows, steps, [], []]
  for _ in range(calls):
    for p in programs.values():
      t0, c0 = time.perf_counter(), time.process_time()
      p[1], _ = p[0](data, p[1], p[2])
      jax.block_until_ready(p[1])
      p[4].append(time.perf_counter() - t0)
      p[5].append(time.process_time() - c0)
  print(f"# in-process A/B: {members} composite folds per call, {calls} calls each in turn, "
        f"load {_load()}")
  print("| program | wall ms per fold-step (min / median) | CPU ms per fold-step (min / median) |")
  print("|---|---:|---:|")
  for spec, (_, _, _, steps, wall, cpu) in programs.items():
    print(f"| merjax {spec} | {1000 * min(wall) / steps:.1f} / "
          f"{1000 * statistics.median(wall) / steps:.1f} | {1000 * min(cpu) / steps:.1f} / "
          f"{1000 * statistics.median(cpu) / steps:.1f} |")


def child(args) -> None:
  if args.model == "ststnet":
    subject_N, y_N = composite_layout(args.folds)
    x = images(len(subject_N), args.size)
  else:
    subject_N, y_N = twin_layout(args.subjects, args.clips, TWIN_CLASSES[args.model])
    config = twin_config(args.model, args.set)
    _, x = twin_inputs(config, len(subject_N), args.offsets)
  t0 = time.perf_counter()
  if args.child == "torch" and args.model == "ststnet":
    out = torch_loop(subject_N, y_N, x, args.epochs, args.torch_threads)
  elif args.child == "torch":
    out = torch_twin_loop(args.model, config, json.loads(args.twin_fields), subject_N, y_N, x,
                          args.folds, args.epochs, args.torch_threads)
  elif args.model == "ststnet":
    out = merjax_run(subject_N, y_N, x, args.epochs, args.child)
  else:
    out = merjax_run(subject_N, y_N, x, args.epochs, args.child, args.model, args.set,
                     args.folds)
  out["train_s"] = time.perf_counter() - t0
  import resource  # pylint: disable=import-outside-toplevel
  usage = resource.getrusage(resource.RUSAGE_SELF)
  out["rss_mb"] = usage.ru_maxrss / 1024                   # this process's peak
  out["cpu_s"] = usage.ru_utime + usage.ru_stime           # all its threads, the whole process
  print("RESULT " + json.dumps(out), flush=True)


def run_child(spec: str, args) -> dict:
  """Runs one spec in a child process; its result plus wall time and peak RSS."""
  cmd = [sys.executable, os.path.abspath(__file__), "--child", spec, "--folds", str(args.folds),
         "--epochs", str(args.epochs), "--size", str(args.size),
         "--torch-threads", str(args.torch_threads), "--model", args.model,
         "--subjects", str(args.subjects), "--clips", str(args.clips),
         "--offsets", str(args.offsets)]
  cmd += [f"--set={o}" for o in args.set]
  if args.twin_fields:
    cmd += ["--twin-fields", args.twin_fields]
  cpus = [int(c) for c in args.cpus.split(",")] if args.cpus else None
  t0 = time.perf_counter()
  proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
  out, err = proc.communicate()
  wall = time.perf_counter() - t0
  if proc.returncode != 0:
    raise SystemExit(f"{spec}: child failed ({proc.returncode}):\n{err[-3000:]}")
  line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
  result = json.loads(line[len("RESULT "):])
  result.update(wall_s=wall)
  return result


def machine_probe() -> str:
  """One line: this machine's streaming copy bandwidth (numpy, 200 MB) and float32 GEMM rate
  (numpy's BLAS, 2048^2), best of 5: the two roofs of docs/benchmarks.md's roofline."""
  a = np.ones(50_000_000, np.float32)
  b = np.empty_like(a)
  x = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
  copy, gemm = [], []
  for _ in range(5):
    t0 = time.perf_counter()
    np.copyto(b, a)
    copy.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    x @ x
    gemm.append(time.perf_counter() - t0)
  return (f"# machine: copy {2 * a.nbytes / min(copy) / 1e9:.1f} GB/s (read + write), "
          f"sgemm {2 * 2048 ** 3 / min(gemm) / 1e9:.0f} GFLOP/s, load {_load()}")


def _load() -> str:
  try:
    return f"{os.getloadavg()[0]:.1f}"
  except OSError:
    return "n/a"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", choices=MODELS, default="ststnet")
  parser.add_argument("--folds", type=int, default=None,
                      help="ststnet: the first N composite subjects (68); meganet / fdp: the "
                           "first N held-out subjects of the layout (meganet 1, fdp 4)")
  parser.add_argument("--epochs", type=int, default=None, help="ststnet 5, meganet / fdp 1")
  parser.add_argument("--subjects", type=int, default=TWIN_DEFAULTS["subjects"],
                      help="meganet / fdp: subjects of the synthetic layout")
  parser.add_argument("--clips", type=int, default=TWIN_DEFAULTS["clips"],
                      help="meganet / fdp: clips of the synthetic layout")
  parser.add_argument("--offsets", type=int, default=4,
                      help="fdp: start offsets per clip (temporal_mode fdp_offsets)")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="meganet / fdp: a config override for both sides (repeatable)")
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--runs", default="torch,sequential")
  parser.add_argument("--size", type=int, default=28, help="ststnet only (the configs' sizes "
                      "elsewhere)")
  parser.add_argument("--cpus", default="", help="pin every child to these CPUs (e.g. 0)")
  parser.add_argument("--torch-threads", type=int, default=0, help="0: torch's default")
  parser.add_argument("--probe", action="store_true",
                      help="first measure the copy bandwidth and GEMM rate (the roofline's roofs)")
  parser.add_argument("--ab", default="", help="in-process A/B of these merjax specs instead")
  parser.add_argument("--calls", type=int, default=6, help="--ab: epoch calls per spec")
  parser.add_argument("--members", type=int, default=4, help="--ab: folds per call")
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  parser.add_argument("--twin-fields", default="", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  twin = args.model != "ststnet"
  if args.folds is None:
    args.folds = TWIN_FOLDS[args.model] if twin else 68
  if args.epochs is None:
    args.epochs = TWIN_DEFAULTS["epochs"] if twin else 5
  if args.child:
    child(args)
    return 0
  if args.ab and twin:
    raise SystemExit("--ab compares STSTNet programs only")
  if args.ab:
    in_process_ab(args.ab.split(","), args.calls, args.members)
    return 0

  runs = args.runs.split(",")
  counts = None
  if twin:   # the same network on both sides before any timing
    fields, *counts = twin_fields(args.model, args.set)
    args.twin_fields = json.dumps(fields)
    if counts[0] != counts[1]:
      raise SystemExit(f"{args.model}: Flax {counts[0]:,} parameters, torch twin {counts[1]:,}")
  if args.cpus:    # the probe too measures the pinned CPUs' roofs
    os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
  probe = machine_probe() if args.probe else None
  rows = []
  for r in range(args.repeats):
    for spec in runs:
      load = _load()
      res = run_child(spec, args)
      res.update(spec=spec, repeat=r, load=f"{load}/{_load()}")
      rows.append(res)
      print(f"# {spec} round {r + 1}: {res['wall_s']:.1f} s wall; row {json.dumps(res)}",
            file=sys.stderr, flush=True)   # what an interrupted run keeps

  torch_walls = [x["wall_s"] for x in rows if x["spec"] == "torch"]
  base = statistics.median(torch_walls) if torch_walls else None
  base_cpu = statistics.median(x["cpu_s"] for x in rows if x["spec"] == "torch") if base else None
  pin = f"pinned to CPU {args.cpus}" if args.cpus else f"all {os.cpu_count()} cores"
  if twin:
    config = twin_config(args.model, args.set)
    _, x = twin_inputs(config, 1, args.offsets)
    t = config["train"]
    shape = "x".join(map(str, x.shape[1:])) + (" (T x M offsets x H x W x C)" if x.ndim == 6 else "")
    print(f"# {args.model} LOSO, {args.folds} folds of a layout of {args.clips} clips of "
          f"{shape} over {args.subjects} subjects, batch "
          f"{t['batch_size']} (last: {t['last_batch']}), Adam {t['optimizer']['learning_rate']:g}, "
          f"{args.epochs} epochs per fold, {counts[0]:,} parameters on both sides; "
          f"{platform.machine()} {pin}, Python {platform.python_version()}; runs in turn, "
          f"{args.repeats} rounds")
  else:
    subject_N, _ = composite_layout(args.folds)
    print(f"# STSTNet LOSO, {len(subject_N)} clips of {args.size}x{args.size}x3 over {args.folds} "
          f"subjects, batch {BATCH}, Adam, {args.epochs} epochs per fold; {platform.machine()} "
          f"{pin}, Python {platform.python_version()}; runs in turn, {args.repeats} rounds")
  print("# python tools/bench_vs_torch.py"
        + (f" --model {args.model}" if twin else "")
        + f" --folds {args.folds} --epochs {args.epochs} --repeats {args.repeats} --runs {args.runs}"
        + (f" --subjects {args.subjects} --clips {args.clips}" if twin else "")
        + (f" --offsets {args.offsets}" if args.model == "fdp" else "")
        + "".join(f" --set={o}" for o in args.set)
        + (f" --cpus {args.cpus}" if args.cpus else "")
        + (f" --torch-threads {args.torch_threads}" if args.torch_threads else ""))
  if probe:
    print(probe)
  print("| run | round | process wall (s) | process CPU (s) | compile (s) | train (s) "
        "| fold-steps | ms per fold-step | samples computed | members per call | peak RSS (MB) "
        "| vs PyTorch (wall) | vs PyTorch (CPU) | load before/after |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
  for x in rows:
    ms = 1000 * (x["train_s"] - x["compile_s"]) / x["steps"]
    label = "PyTorch loop (fresh model per fold)" if x["spec"] == "torch" else f"merjax {x['spec']}"
    vs = f"{base / x['wall_s']:.2f}x" if base else "-"
    vs_cpu = f"{base_cpu / x['cpu_s']:.2f}x" if base else "-"
    print(f"| {label} | {x['repeat'] + 1} | {x['wall_s']:.1f} | {x['cpu_s']:.1f} "
          f"| {x['compile_s']:.1f} | {x['train_s']:.1f} | {x['steps']} | {ms:.1f} "
          f"| {x['samples']} | {x.get('group_size', 1)} | {x['rss_mb']:.0f} | {vs} | {vs_cpu} "
          f"| {x['load']} |")
  print("\n| run (median of rounds) | process wall (s) | process CPU (s) | compile (s) "
        "| peak RSS (MB) | vs PyTorch (wall) | vs PyTorch (CPU) |")
  print("|---|---:|---:|---:|---:|---:|---:|")
  for spec in runs:
    mine = [x for x in rows if x["spec"] == spec]
    wall, cpu = (statistics.median(x[k] for x in mine) for k in ("wall_s", "cpu_s"))
    label = "PyTorch loop" if spec == "torch" else f"merjax {spec}"
    print(f"| {label} | {wall:.1f} | {cpu:.1f} "
          f"| {statistics.median(x['compile_s'] for x in mine):.1f} "
          f"| {max(x['rss_mb'] for x in mine):.0f} "
          f"| {f'{base / wall:.2f}x' if base else '-'} "
          f"| {f'{base_cpu / cpu:.2f}x' if base else '-'} |")
  return 0


if __name__ == "__main__":
  sys.exit(main())

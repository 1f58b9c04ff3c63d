"""How the per-member functions are mapped over members, and the host loop that
runs groups of members epoch by epoch with progress and per-group results.

Strategies (all inside one compiled program per group):
- "vmap": every member of the group at once (convolutions become grouped ones);
- "sequential": members one after another (`lax.map`), no grouped convolutions;
- "chunked": `lax.map` over chunks of `chunk` members, vmapped inside a chunk.
With several devices the group axis is sharded over them (`jax.shard_map`) and
each device maps its own members with the chosen strategy.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from merjax import distributed
from merjax.training.trainer import STEP_LISTENER, FoldFunctions, MemberTables

STRATEGIES = ("vmap", "sequential", "chunked")

logger = logging.getLogger(__name__)


def map_members(fn: Callable, strategy: str, chunk: int = 2) -> Callable:
  """Lifts fn(data, *member_args) to a leading member axis on member_args."""
  if strategy == "vmap":
    return _vmap(fn)
  if strategy == "sequential":
    return lambda data, *args: jax.lax.map(lambda a: fn(data, *a), args)
  if strategy == "chunked":
    return lambda data, *args: jax.lax.map(lambda a: fn(data, *a), args,
                                           batch_size=chunk)
  raise ValueError(f"unknown strategy '{strategy}'; known: {STRATEGIES}")


def _vmap(fn):
  def mapped(data, *args):
    return jax.vmap(lambda *a: fn(data, *a))(*args)
  return mapped


def _sharded(mapped: Callable, mesh) -> Callable:
  """Shards the member axis of every argument but `data` over mesh axis 'fold'."""
  spec = jax.sharding.PartitionSpec("fold")
  def run(data, *args):
    return jax.shard_map(mapped, mesh=mesh,
                         in_specs=(jax.sharding.PartitionSpec(),) + (spec,) * len(args),
                         out_specs=spec, check_vma=False)(data, *args)
  return run


@dataclasses.dataclass
class GroupPrograms:
  """The three jitted group functions of one run (compiled once per group size)."""
  init: Callable
  epoch: Callable
  predict: Callable


def compile_group_programs(fns: FoldFunctions, strategy: str, chunk: int = 2,
                           mesh=None) -> GroupPrograms:
  def lift(f):
    mapped = map_members(f, strategy, chunk)
    return _sharded(mapped, mesh) if mesh is not None else mapped
  return GroupPrograms(init=jax.jit(lift(fns.init)),
                       epoch=jax.jit(lift(fns.epoch), donate_argnums=(1,)),
                       predict=jax.jit(lift(fns.predict)))


@dataclasses.dataclass
class MemberResult:
  """What one member produced: test logits (n_test x K) or failure."""
  member: int
  seed: int
  fold: int
  combo: int
  test_idx: np.ndarray
  logits: np.ndarray | None
  failed: bool
  loss_history: list[float]
  selected_epoch: int | None


def device_memory_bytes() -> int:
  """Memory of the first device: the accelerator's limit, or the host's RAM."""
  stats = jax.devices()[0].memory_stats() or {}
  if "bytes_limit" in stats:
    return int(stats["bytes_limit"])
  return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def memory_in_use_bytes() -> int:
  """What the first device already holds: the accelerator's bytes in use, or (CPU: the
  device memory is the host's) this process's resident set."""
  stats = jax.devices()[0].memory_stats() or {}
  if "bytes_in_use" in stats:
    return int(stats["bytes_in_use"])
  try:
    with open("/proc/self/statm") as f:
      return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
  except (OSError, ValueError, IndexError):
    return 0


def memory_per_member(fns: FoldFunctions, data, tables: MemberTables, strategy: str,
                      chunk: int = 2) -> tuple[int, int]:
  """(fixed bytes, bytes per extra member) of one epoch call, from XLA's memory
  analysis of the compiled one- and two-member programs."""
  data = jax.tree.map(jnp.asarray, data)
  sizes = []
  for m in (1, 2):
    rows = jax.tree.map(jnp.asarray, tables.device_rows([0] * m))
    programs = compile_group_programs(fns, strategy, chunk)
    state = jax.eval_shape(programs.init, data, rows)
    stats = programs.epoch.lower(data, state, rows).compile().memory_analysis()
    sizes.append(stats.temp_size_in_bytes + stats.argument_size_in_bytes
                 + stats.output_size_in_bytes)
  per_member = max(sizes[1] - sizes[0], 1)
  return sizes[0] - per_member, per_member


SEQUENTIAL_GROUP = 8
MEMORY_FRACTION = 0.35    # train.memory_fraction's default: room for the process and a second run


def balanced_group_size(num_members: int, most: int, least: int = 1) -> int:
  """The group size in [least, most] whose groups pad the fewest members (the largest on a
  tie), e.g. 68 members, at most 8: 4 (17 groups, no padding) rather than 8 (9 groups, 72)."""
  most = max(1, min(num_members, most))
  least = max(1, min(least, most))
  return min(range(least, most + 1),
             key=lambda g: (math.ceil(num_members / g) * g, -g))


def auto_group_size(fns: FoldFunctions, data, tables: MemberTables, strategy: str,
                    chunk: int = 2, fraction: float = MEMORY_FRACTION) -> int:
  """Members per call. "sequential" holds only the members' states at once, so its groups
  are at most SEQUENTIAL_GROUP (results are written per group) and at least half that, the
  size in between padding the fewest members; "vmap"/"chunked" take the fewest groups whose
  members' memory, estimated from the compiled program, fits `fraction` of the device less
  what the process already holds (on a CPU its resident set: the data, the runtime), then
  spread the members evenly over those groups. A large fold count is split into groups,
  never crashes."""
  n = len(tables)
  if strategy == "sequential":
    return balanced_group_size(n, SEQUENTIAL_GROUP, SEQUENTIAL_GROUP // 2)
  fixed, per_member = memory_per_member(fns, data, tables, strategy, chunk)
  budget = fraction * device_memory_bytes() - memory_in_use_bytes() - fixed
  fits = int(max(1, min(n, budget // per_member)))
  return math.ceil(n / math.ceil(n / fits))


def calls_per_step(strategy: str, group_size: int, chunk: int = 2, devices: int = 1) -> int:
  """How often the step listener (trainer.STEP_LISTENER) fires per training step of a
  group: once per member mapped in sequence, once per vmapped call, on every device."""
  per_device = max(1, group_size // devices)
  return devices * {"vmap": 1, "sequential": per_device,
                    "chunked": math.ceil(per_device / chunk)}[strategy]


# Typical training throughput of merjax's programs, for `estimate_seconds` (rough, +-3x): the
# 2-core CPU ran STSTNet's step (0.6 GFLOP) at ~7 GFLOP/s per core (docs/benchmarks.md); the
# GPU figure assumes a small network at a few % of an H100's peak.
CPU_FLOPS_PER_CORE = 5e9
ACCELERATOR_FLOPS = 2e13


def estimate_seconds(fns: FoldFunctions, data, tables: MemberTables, epochs: int
                     ) -> tuple[float, float, int]:
  """(seconds, FLOPs per step, fold-steps): a rough duration of training every member for
  `epochs` epochs on this device, before anything compiles: the FLOPs of one training step
  (XLA's cost analysis of the lowered one-member epoch program, which counts its step loop
  once) times the steps all members take, at CPU_FLOPS_PER_CORE x cores or
  ACCELERATOR_FLOPS x devices. Compilation and evaluation are not included."""
  data = jax.tree.map(jnp.asarray, data)
  row = jax.tree.map(lambda x: jnp.asarray(x[0]), tables.device_rows([0]))
  state = jax.eval_shape(fns.init, data, row)
  one_loop = dataclasses.replace(fns, last_step_batch=0, full_steps=0)   # one step body
  cost = jax.jit(one_loop.epoch).lower(data, state, row).cost_analysis()
  cost = (cost[0] if isinstance(cost, (list, tuple)) and cost else cost) or {}
  flops = float(cost.get("flops", 0.0))
  b = fns.batch_size
  steps = sum(-(-int(n) // b) for n in tables.n_train_M) * epochs
  if fns.max_steps > 0:
    steps = min(steps, fns.max_steps * len(tables))
  if jax.devices()[0].platform == "cpu":
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rate = CPU_FLOPS_PER_CORE * (cores or 1)
  else:
    rate = ACCELERATOR_FLOPS * jax.device_count()
  return flops * steps / rate, flops, steps


# An epoch of a group estimated to take longer than this gets in-epoch (per-step) progress.
STEP_PROGRESS_AFTER_S = 20.0


def wants_step_progress(seconds: float, epochs: int, num_groups: int) -> bool:
  """Whether one epoch of one group, from `estimate_seconds`' total over `epochs` epochs
  and `num_groups` groups, is long enough (STEP_PROGRESS_AFTER_S) to report its steps."""
  return seconds / max(1, epochs * num_groups) > STEP_PROGRESS_AFTER_S


def clock(seconds: float) -> str:
  """Seconds as 12s, 3.4min or 5.6h."""
  seconds = max(0.0, float(seconds))
  if seconds < 120:
    return f"{seconds:.0f}s"
  if seconds < 7200:
    return f"{seconds / 60:.1f}min"
  return f"{seconds / 3600:.1f}h"


class Progress:
  """Logs compile, epoch, in-epoch step and group progress with elapsed time and ETA
  (merjax's logger). `epoch` is called after each epoch; `begin_epoch` before one, and
  `step` from the epoch program itself (trainer.STEP_LISTENER) once per `ticks_per_epoch`-th
  of it, so a long epoch shows its steps, their rate and the phase (compiling, first step,
  steady) at most every `step_interval` seconds."""

  def __init__(self, total_groups: int, epochs: int, min_interval: float = 2.0,
               step_interval: float = 10.0):
    self.total_groups, self.epochs = total_groups, epochs
    self.min_interval, self.step_interval = min_interval, step_interval
    self.start = time.perf_counter()
    self._last = -math.inf
    self._first = (None, 0, 0.0)
    self.group_seconds: list[float] = []
    self.ticks_per_epoch = 0          # expected step calls per epoch call (0: unknown)
    self._where = (0, 0)              # (group, epoch) in flight
    self._ticks = 0                   # step calls in the epoch in flight
    self._total_ticks = 0
    self._first_tick: float | None = None
    self._last_step_line = -math.inf

  def say(self, text: str):
    logger.info(f"[{time.perf_counter() - self.start:7.1f}s] {text}")

  def begin_epoch(self, group: int, epoch: int):
    self._where, self._ticks = (group, epoch), 0

  def step(self, s=None):
    """One training step of one mapped member done (called from the device program)."""
    now = time.perf_counter()
    self._ticks += 1
    self._total_ticks += 1
    group, epoch = self._where
    if self._first_tick is None:
      self._first_tick = now
      self.say(f"first step done (compile + 1 step: {now - self.start:.1f}s); "
               f"group {group + 1}/{self.total_groups} epoch {epoch}/{self.epochs}")
      return
    if now - self._last_step_line < self.step_interval:
      return
    self._last_step_line = now
    rate = (self._total_ticks - 1) / max(now - self._first_tick, 1e-9)   # steady steps/s
    per_epoch = max(self.ticks_per_epoch, self._ticks)
    left = (per_epoch - self._ticks + per_epoch * (self.epochs - epoch)
            + per_epoch * self.epochs * (self.total_groups - group - 1))
    total = f"/{per_epoch}" if self.ticks_per_epoch else ""
    self.say(f"group {group + 1}/{self.total_groups} epoch {epoch}/{self.epochs} "
             f"step {self._ticks}{total}, {rate:.2f} steps/s (steady), "
             f"ETA {clock(left / max(rate, 1e-9))}")

  def epoch(self, group: int, epoch: int, loss: float, group_start: float, force=False):
    now = time.perf_counter()
    if self._ticks:                 # this epoch's real step-call count replaces the estimate
      self.ticks_per_epoch = self._ticks
    if self._first[0] != group:     # a group's first epoch (maybe after a resume) includes compilation
      self._first = (group, epoch, now)
    if not force and now - self._last < self.min_interval and epoch != self.epochs:
      return
    self._last = now
    _, first_epoch, first_end = self._first
    if epoch > first_epoch:
      per_epoch = (now - first_end) / (epoch - first_epoch)
    else:
      per_epoch = now - group_start
    this_left = per_epoch * (self.epochs - epoch)
    group_time = (np.mean(self.group_seconds) if self.group_seconds
                  else per_epoch * self.epochs)
    eta = this_left + group_time * (self.total_groups - group - 1)
    self.say(f"group {group + 1}/{self.total_groups} epoch {epoch}/{self.epochs} "
             f"loss {loss:.4f} ETA {eta:.0f}s")


def member_groups(num_members: int, group_size: int) -> list[list[int]]:
  """Consecutive groups of member indices (the last may be shorter)."""
  return [list(range(i, min(i + group_size, num_members)))
          for i in range(0, num_members, group_size)]


def run_members(fns: FoldFunctions, data: dict, tables: MemberTables, *,
                epochs: int, strategy: str, group_size: int, chunk: int = 2,
                on_group_done: Callable[[int, list[MemberResult]], None] | None = None,
                progress: Progress | None = None, done_groups=(),
                checkpointer=None, step_progress: bool = False) -> list[MemberResult]:
  """Trains all members in groups of `group_size` and returns their results.

  Each group is one set of compiled calls (init, `epochs` x epoch, predict);
  `on_group_done(group index, results)` runs as soon as a group finishes, so
  an interrupted run loses at most the group in flight. Groups are padded
  with copies of their last member (discarded) so every group has the same
  shape and the programs compile once. Groups in `done_groups` (finished in
  an earlier, interrupted run) are skipped; with a `checkpointer`
  (merjax/training/checkpoint.py) the group in flight is saved every k epochs,
  resumed from its newest checkpoint, and each finished group's state is kept.
  With `step_progress` the epoch program reports every step to `progress` (a host
  callback: the values are unchanged, but XLA's persistent cache cannot keep a program
  with a callback, so it is meant for epochs long enough to need it; see
  `wants_step_progress`).
  """
  devices = jax.devices()        # every process's devices in a multi-process run
  mesh = None
  groups = member_groups(len(tables), group_size)   # whatever the device count (resume)
  if len(devices) > 1:
    group_size = math.ceil(group_size / len(devices)) * len(devices)   # padded width
    mesh = jax.make_mesh((len(devices),), ("fold",))
  todo = [g for g in range(len(groups)) if g not in set(done_groups)]
  programs = compile_group_programs(fns, strategy, chunk, mesh)
  progress = progress or Progress(len(groups), epochs)
  progress.ticks_per_epoch = fns.steps_per_epoch * calls_per_step(
      strategy, group_size, chunk, len(devices))
  P = jax.sharding.PartitionSpec
  if mesh is not None:   # shard_map does not reshard: place the (global) arrays first
    data = jax.tree.map(lambda x: distributed.global_array(
        x, jax.sharding.NamedSharding(mesh, P())), data)
  else:
    data = jax.tree.map(jnp.asarray, data)
  results = []
  for i, g in enumerate(todo):
    members = groups[g]
    padded = members + [members[-1]] * (group_size - len(members))
    rows = tables.device_rows(padded)
    if mesh is not None:
      rows = jax.tree.map(lambda x: distributed.global_array(
          x, jax.sharding.NamedSharding(mesh, P("fold"))), rows)
    else:
      rows = jax.tree.map(jnp.asarray, rows)
    group_start = time.perf_counter()
    if i == 0:
      progress.say(f"compiling ({strategy}, {group_size} members per group, "
                   f"{len(devices)} device(s))")
    state = programs.init(data, rows)
    history, start = [], 1
    resumed = checkpointer.restore_latest(g, state) if checkpointer else None
    if resumed is not None:
      done_epochs, state, history = resumed
      start = done_epochs + 1
      progress.say(f"group {g + 1}/{len(groups)}: resumed from the epoch {done_epochs} checkpoint")
    for e in range(start, epochs + 1):
      progress.begin_epoch(g, e)
      token = STEP_LISTENER.set(progress.step if step_progress else None)   # traced once
      try:
        state, metrics = programs.epoch(data, state, rows)
      finally:
        STEP_LISTENER.reset(token)
      loss = distributed.to_host(metrics["loss"])
      history.append(loss)
      alive = distributed.to_host(metrics["alive"])[:len(members)]
      shown = loss[:len(members)][alive]
      progress.epoch(g, e, float(shown.mean()) if shown.size else float("nan"),
                     group_start, force=(i == 0 and e == start))
      if checkpointer is not None and checkpointer.due(e, epochs):
        checkpointer.save_latest(g, e, state, history)
    logits = distributed.to_host(programs.predict(data, state, rows))
    if checkpointer is not None:
      checkpointer.save_final(g, state, padded)
    alive = distributed.to_host(state["alive"])
    best_epoch = distributed.to_host(state["best_epoch"]) if "best_epoch" in state else None
    group_results = []
    for j, m in enumerate(members):
      n_test = int(tables.n_test_M[m])
      group_results.append(MemberResult(
          member=m, seed=int(tables.seed_M[m]), fold=int(tables.fold_M[m]),
          combo=int(tables.combo_M[m]),
          test_idx=tables.test_MxP[m, :n_test].copy(),
          logits=logits[j, :n_test] if alive[j] else None,
          failed=not bool(alive[j]),
          loss_history=[float(h[j]) for h in history],
          selected_epoch=int(best_epoch[j]) if best_epoch is not None else epochs))
    progress.group_seconds.append(time.perf_counter() - group_start)
    progress.say(f"group {g + 1}/{len(groups)} done ({len(members)} members)")
    if on_group_done is not None:
      on_group_done(g, group_results)
    results.extend(group_results)
  return results

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
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from merjax.training.trainer import FoldFunctions, MemberTables

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
  import os  # pylint: disable=import-outside-toplevel
  return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


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


def auto_group_size(fns: FoldFunctions, data, tables: MemberTables, strategy: str,
                    chunk: int = 2, fraction: float = 0.6) -> int:
  """Members per call. "sequential" holds only the members' states at once, so
  its groups are capped at SEQUENTIAL_GROUP (results are written per group);
  "vmap"/"chunked" take the most members whose memory, estimated from the
  compiled program, fits `fraction` of the device: a large fold count is
  split into groups, never crashes."""
  if strategy == "sequential":
    return min(len(tables), SEQUENTIAL_GROUP)
  fixed, per_member = memory_per_member(fns, data, tables, strategy, chunk)
  budget = fraction * device_memory_bytes() - fixed
  return int(max(1, min(len(tables), budget // per_member)))


class Progress:
  """Logs compile, epoch and group progress with elapsed time and ETA (merjax's logger)."""

  def __init__(self, total_groups: int, epochs: int, min_interval: float = 2.0):
    self.total_groups, self.epochs = total_groups, epochs
    self.min_interval = min_interval
    self.start = time.perf_counter()
    self._last = -math.inf
    self._first = (None, 0, 0.0)
    self.group_seconds: list[float] = []

  def say(self, text: str):
    logger.info(f"[{time.perf_counter() - self.start:7.1f}s] {text}")

  def epoch(self, group: int, epoch: int, loss: float, group_start: float, force=False):
    now = time.perf_counter()
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
                checkpointer=None) -> list[MemberResult]:
  """Trains all members in groups of `group_size` and returns their results.

  Each group is one set of compiled calls (init, `epochs` x epoch, predict);
  `on_group_done(group index, results)` runs as soon as a group finishes, so
  an interrupted run loses at most the group in flight. Groups are padded
  with copies of their last member (discarded) so every group has the same
  shape and the programs compile once. Groups in `done_groups` (finished in
  an earlier, interrupted run) are skipped; with a `checkpointer`
  (merjax/training/checkpoint.py) the group in flight is saved every k epochs,
  resumed from its newest checkpoint, and each finished group's state is kept.
  """
  devices = jax.devices()
  mesh = None
  if len(devices) > 1:
    group_size = math.ceil(group_size / len(devices)) * len(devices)
    mesh = jax.make_mesh((len(devices),), ("fold",))
  groups = member_groups(len(tables), group_size)
  todo = [g for g in range(len(groups)) if g not in set(done_groups)]
  programs = compile_group_programs(fns, strategy, chunk, mesh)
  progress = progress or Progress(len(groups), epochs)
  data = jax.tree.map(jnp.asarray, data)
  if mesh is not None:   # shard_map does not reshard: place the arrays first
    P = jax.sharding.PartitionSpec
    data = jax.device_put(data, jax.sharding.NamedSharding(mesh, P()))
  results = []
  for i, g in enumerate(todo):
    members = groups[g]
    padded = members + [members[-1]] * (group_size - len(members))
    rows = jax.tree.map(jnp.asarray, tables.device_rows(padded))
    if mesh is not None:
      rows = jax.device_put(rows, jax.sharding.NamedSharding(mesh, P("fold")))
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
      state, metrics = programs.epoch(data, state, rows)
      loss = np.asarray(metrics["loss"])
      history.append(loss)
      alive = np.asarray(metrics["alive"])[:len(members)]
      shown = loss[:len(members)][alive]
      progress.epoch(g, e, float(shown.mean()) if shown.size else float("nan"),
                     group_start, force=(i == 0 and e == start))
      if checkpointer is not None and checkpointer.due(e, epochs):
        checkpointer.save_latest(g, e, state, history)
    logits = np.asarray(programs.predict(data, state, rows))
    if checkpointer is not None:
      checkpointer.save_final(g, state, padded)
    alive = np.asarray(state["alive"])
    best_epoch = np.asarray(state["best_epoch"]) if "best_epoch" in state else None
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

"""Multi-process and multi-host runs over JAX's own distributed runtime.

A run started on P processes (one per host, or several on one host) sees the
devices of all of them as one global mesh: the member axis (combination x
seed x fold) is sharded over it, every process holds the whole (small)
dataset, and only process 0 writes the run directory. This module holds the
pieces the run core needs for that: the command-line flags, `initialize`
(with bounded coordinator timeouts), the process-0 predicate, barriers and
broadcasts of small host values over the coordinator's key-value store, the
placement of host arrays on a global mesh and the gathering of results back
to every host. With one process every helper is the identity (or does
nothing), so single-process runs are unchanged. docs/scaling.md.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time

import jax
import numpy as np

from merjax.cli import PROCESS_LOST
from merjax.errors import MerjaxError

logger = logging.getLogger(__name__)

# Coordinator timeouts (seconds; documented in docs/scaling.md and docs/reliability.md).
# INIT: how long the processes wait for each other at start-up;
# HEARTBEAT: how long a silent (dead, hung, unreachable) process is tolerated
#   before the coordinator takes every process down;
# SHUTDOWN: how long a finished process waits for the others at exit;
# BARRIER: how long a process waits for another at a merjax barrier (process 0
#   staging the modality cache for the others takes the longest).
INIT_TIMEOUT_S = int(os.environ.get("MERJAX_DIST_INIT_TIMEOUT", 300))
HEARTBEAT_TIMEOUT_S = int(os.environ.get("MERJAX_DIST_HEARTBEAT_TIMEOUT", 60))
SHUTDOWN_TIMEOUT_S = int(os.environ.get("MERJAX_DIST_SHUTDOWN_TIMEOUT", 120))
BARRIER_TIMEOUT_S = int(os.environ.get("MERJAX_DIST_BARRIER_TIMEOUT", 3600))

_state = {"initialized": False, "counter": 0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """--distributed, --coordinator, --num-processes, --process-id."""
  g = parser.add_argument_group("multi-process runs (docs/scaling.md)")
  g.add_argument("--distributed", action="store_true",
                 help="join a multi-process run whose set-up JAX detects (SLURM, Open MPI, "
                      "Cloud TPU, Kubernetes)")
  g.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                 help="process 0's address (explicit set-up; with --num-processes, --process-id)")
  g.add_argument("--num-processes", type=int, default=None, metavar="N")
  g.add_argument("--process-id", type=int, default=None, metavar="I")


def initialize_from_args(args) -> None:
  """Joins the multi-process run the flags describe (nothing without them). A
  multi-process run needs an explicit --workdir that every process sees."""
  explicit = (args.coordinator, args.num_processes, args.process_id)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise MerjaxError("--coordinator, --num-processes and --process-id go together")
    initialize(args.coordinator, args.num_processes, args.process_id)
  elif args.distributed:
    initialize()
  if is_multiprocess() and getattr(args, "workdir", "") is None:
    raise MerjaxError("a multi-process run needs --workdir: one folder that every process "
                      "sees (a shared filesystem)")


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
  """jax.distributed.initialize with merjax's timeouts (auto-detected set-up when
  the arguments are None); the CPU backend's collectives go over gloo. Calling it
  again in the same process does nothing."""
  if _state["initialized"]:
    return
  if num_processes is not None and not 0 <= process_id < num_processes:
    raise MerjaxError(f"--process-id {process_id}: not in 0..{num_processes - 1}")
  if coordinator is not None and ":" not in coordinator:
    raise MerjaxError(f"--coordinator {coordinator}: not HOST:PORT")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id,
        initialization_timeout=INIT_TIMEOUT_S, heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT_S,
        shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S)
  except (RuntimeError, ValueError) as e:   # no cluster found, coordinator unreachable
    raise MerjaxError(f"distributed start-up failed: {first_line(e)}") from None
  _state["initialized"] = True
  _register()
  if is_multiprocess():
    threading.Thread(target=_watch, name="merjax-watchdog", daemon=True).start()
    atexit.register(_leaving)     # runs before JAX's own shutdown (registered earlier)
  logger.info(f"process {jax.process_index()} of {jax.process_count()}: "
              f"{jax.local_device_count()} local / {jax.device_count()} global device(s)")


def first_line(e: BaseException) -> str:
  text = str(e).strip()
  return text.splitlines()[0][:300] if text else type(e).__name__


def is_multiprocess() -> bool:
  """Whether this process is one of several (without starting JAX's backend otherwise)."""
  return jax.distributed.is_initialized() and jax.process_count() > 1


def is_main() -> bool:
  """True on process 0: the one that writes files (every process in a
  single-process run)."""
  return not jax.distributed.is_initialized() or jax.process_index() == 0


def describe() -> dict:
  """{"processes", "devices", "local_devices"}: what config.json records."""
  return {"processes": jax.process_count(), "devices": jax.device_count(),
          "local_devices": jax.local_device_count()}


def _client():
  from jax._src import distributed as jax_distributed  # pylint: disable=import-outside-toplevel
  return jax_distributed.global_state.client


def _next_key(name: str) -> str:
  _state["counter"] += 1
  return f"merjax/{_state['counter']}/{name}"


def barrier(name: str, timeout_s: int = BARRIER_TIMEOUT_S) -> None:
  """Every process waits here until all have arrived (nothing with one process)."""
  if not is_multiprocess():
    return
  try:
    _client().wait_at_barrier(_next_key(name), timeout_s * 1000)
  except Exception as e:  # noqa: BLE001 - the runtime raises its own error types
    raise MerjaxError(f"process {jax.process_index()}: another process did not reach "
                      f"'{name}' within {timeout_s}s ({first_line(e)})") from None


def broadcast(value, name: str, timeout_s: int = BARRIER_TIMEOUT_S):
  """Process 0's `value` (JSON-able) on every process."""
  if not is_multiprocess():
    return value
  key = _next_key(name)
  if is_main():
    _client().key_value_set(key, json.dumps(value))
    return value
  try:
    return json.loads(_client().blocking_key_value_get(key, timeout_s * 1000))
  except Exception as e:  # noqa: BLE001
    raise MerjaxError(f"process {jax.process_index()}: no '{name}' from process 0 within "
                      f"{timeout_s}s ({first_line(e)})") from None


@contextlib.contextmanager
def main_first(name: str):
  """Process 0 runs the body first (e.g. filling the modality cache), the
  others after it, reading what it left."""
  if not is_main():
    barrier(name)
  try:
    yield
  finally:
    if is_main():
      barrier(name)


def global_array(x, sharding: jax.sharding.Sharding) -> jax.Array:
  """A host array that every process holds whole, placed with a (global) sharding."""
  x = np.asarray(x)
  x = x.astype(jax.dtypes.canonicalize_dtype(x.dtype), copy=False)
  return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def stack_processes(tree):
  """Each host array of `tree` stacked over the processes (P x ...), on every process."""
  if not is_multiprocess():
    return jax.tree.map(lambda x: np.asarray(x)[None], tree)
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=False))


def to_host(x) -> np.ndarray:
  """A (possibly global, sharded over processes) array as a whole numpy array on every host."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(x)


def _register() -> None:
  """Every process's host and pid, so that a survivor can name a process that died."""
  client = _client()
  client.key_value_set(f"merjax/process/{jax.process_index()}",
                       json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
  _state["processes"] = [json.loads(client.blocking_key_value_get(
      f"merjax/process/{i}", INIT_TIMEOUT_S * 1000)) for i in range(jax.process_count())]


def _gone(pid: int) -> bool:
  """Whether process `pid` of this host is gone (no such process, or a zombie)."""
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  except PermissionError:
    return False
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
  except (OSError, IndexError):
    return False


def _leaving() -> None:
  """Tells the other processes' watchdogs that this one finished (it stops beating)."""
  _state["leaving"] = True
  with contextlib.suppress(Exception):
    _client().key_value_set(f"merjax/done/{jax.process_index()}", "1")


def _watch(interval_s: float = 0.5) -> None:
  """The watchdog thread: beats every `interval_s` through the coordinator's key-value
  store and ends this process with one line naming a process that is gone (its pid
  gone on this host, or no beat for half the heartbeat timeout) or the coordinator
  unreachable, before JAX's runtime would (after the whole timeout, with a crash report)."""
  client, me, table = _client(), jax.process_index(), _state["processes"]
  host, stale_s = socket.gethostname(), max(2.0, HEARTBEAT_TIMEOUT_S / 2)
  seen = {i: (None, time.monotonic()) for i in range(len(table)) if i != me}
  beat = 0
  while not _state.get("leaving"):
    beat += 1
    try:
      client.key_value_set(f"merjax/beat/{me}", str(beat), allow_overwrite=True)
      for i in list(seen):
        if _try_get(client, f"merjax/done/{i}") is not None:
          del seen[i]
          continue
        value, since = seen[i]
        now = _try_get(client, f"merjax/beat/{i}")
        if now != value:
          seen[i] = (now, time.monotonic())
        same_host = table[i]["host"] == host
        if (same_host and _gone(table[i]["pid"])) or time.monotonic() - since > stale_s:
          how = ("died" if same_host and _gone(table[i]["pid"])
                 else f"stopped responding (no heartbeat for {stale_s:.0f}s)")
          _die(f"{_name(i)} of this {len(table)}-process run {how}")
    except Exception as e:  # noqa: BLE001 - the coordinator (process 0) is unreachable
      if _state.get("leaving"):
        return
      _die(f"{_name(0)}, the coordinator, is unreachable ({first_line(e)[:120]})")
    time.sleep(interval_s)


def _try_get(client, key: str) -> str | None:
  try:
    return client.key_value_try_get(key)
  except Exception as e:  # noqa: BLE001
    if "NOT_FOUND" in str(e) or "not found" in str(e).lower():
      return None
    raise


def _name(i: int) -> str:
  table = _state.get("processes") or []
  return f"process {i}" + (f" ({table[i]['host']} pid {table[i]['pid']})" if i < len(table)
                           else "")


def _die(what: str) -> None:
  if _state.get("leaving"):
    return
  print(f"error: process {jax.process_index()}: {what}; rerun the same command (every "
        f"process) to resume", file=sys.stderr)
  abort(PROCESS_LOST)


def dead_processes(wait_s: float | None = None) -> list[int]:
  """The processes of this run that are gone: those on this host at once (by pid), the
  others once the coordinator misses their heartbeats (waiting up to `wait_s`, by default
  the heartbeat timeout and a little). The coordinator itself gone counts as process 0."""
  me, table = jax.process_index(), _state.get("processes") or []
  host = socket.gethostname()
  dead = [i for i, p in enumerate(table)
          if i != me and p["host"] == host and _gone(p["pid"])]
  if dead:
    return dead
  others = [i for i in range(jax.process_count()) if i != me]
  deadline = time.monotonic() + (HEARTBEAT_TIMEOUT_S + 10 if wait_s is None else wait_s)
  while True:
    try:
      live = _client().get_live_nodes(list(range(jax.process_count())))
    except Exception:  # noqa: BLE001 - the coordinator (process 0) is unreachable
      return [0] if me != 0 else []
    dead = [i for i in others if i not in live]
    if dead or time.monotonic() > deadline:
      return dead
    time.sleep(0.5)


def lost_process(e: BaseException) -> str | None:
  """One line saying which process died, when `e` is how this process of a
  multi-process run met another's death (None otherwise: `e` is our own error)."""
  if (not _state["initialized"] or not is_multiprocess()
      or isinstance(e, (MerjaxError, KeyboardInterrupt))):
    return None
  text = str(e).lower()
  from_runtime = isinstance(e, jax.errors.JaxRuntimeError) or any(
      w in text for w in ("gloo", "barrier", "coordination", "unavailable", "deadline",
                          "connection", "heartbeat"))
  dead = dead_processes(None if from_runtime else 0)
  if not dead:
    return None
  named = ", ".join(_name(i) for i in dead)
  return (f"process {jax.process_index()}: {named} of this {jax.process_count()}-process run "
          f"died or stopped responding ({first_line(e)[:120]}); rerun the same command "
          f"(every process) to resume")


def at_abort(fn) -> None:
  """Runs fn() if `abort` ends this process (e.g. releasing the run lock)."""
  _state.setdefault("at_abort", []).append(fn)


def cancel_at_abort(fn) -> None:
  with contextlib.suppress(ValueError):
    _state.setdefault("at_abort", []).remove(fn)


def abort(status: int) -> None:
  """Ends this process at once: the distributed runtime's shutdown would wait for the
  dead process and then crash with a long report."""
  for fn in list(_state.get("at_abort", [])):
    with contextlib.suppress(Exception):
      fn()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)

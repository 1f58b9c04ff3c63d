"""The run directory: every file a run or sweep writes, its lock, marker and input fingerprint.

  merjax_run.json    marker: a merjax run directory (kind, creation time)
  run.lock           held while a process writes here (pid, host, start time)
  config.json        the full resolved config
  inputs.json        fingerprint of the inputs (clip ids, labels, frame files); resume checks it
  progress.json      the ledger: finished groups, member histories, output sizes (atomic)
  predictions.csv    PREDICTION_COLUMNS + one logit column per class, appended per group
  history.json       per-member loss per epoch, selected epoch, failure
  metrics.json, results.md, results.csv   the scored run
  checkpoints/       Orbax states (merjax/training/checkpoint.py)

A sweep directory holds the same top-level files plus one run directory per
combination (combo_NNN/), inner/ and nested/ (merjax/sweep.py).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Mapping, Sequence

import numpy as np

from merjax import distributed
from merjax.errors import MerjaxError

MARKER = "merjax_run.json"
LOCK = "run.lock"
CONFIG = "config.json"
INPUTS = "inputs.json"
PROGRESS = "progress.json"
PREDICTIONS = "predictions.csv"
HISTORY = "history.json"
METRICS = "metrics.json"
RESULTS_MD = "results.md"
RESULTS_CSV = "results.csv"
CHECKPOINTS = "checkpoints"
RUN_PROCESSES = "run_processes"   # config.json's record of the process and device counts
PREDICTION_COLUMNS = ("dataset", "subject", "clip", "fold", "seed", "label", "pred")

# What a run may delete or overwrite in its own directory (with --restart).
OWN_FILES = (MARKER, CONFIG, INPUTS, PROGRESS, PREDICTIONS, HISTORY, METRICS, RESULTS_MD,
             RESULTS_CSV, CHECKPOINTS, "sweep.md", "sweep.csv", "sweep.json", "inner",
             "nested")


def write_json(path: str, obj, **kwargs) -> None:
  """Writes JSON atomically (a temporary file, then a rename)."""
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(obj, f, **kwargs)
  os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
  """Writes text atomically."""
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def read_json(path: str, what: str = "") -> dict:
  """JSON of `path`; a damaged file is a MerjaxError naming it."""
  try:
    with open(path) as f:
      return json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise MerjaxError(f"{path}: damaged {what or 'JSON'} ({e.msg if hasattr(e, 'msg') else e}); "
                      f"pass --restart to start the run over") from None


# ---------------------------------------------------------------- the lock


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


class RunLock:
  """An exclusive lock on a run directory: `run.lock` holds the owner's pid,
  host and start time. A lock whose process is gone (same host) is stale and
  is broken only with `force`."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK)
    self.held = False

  def acquire(self, force: bool = False) -> None:
    owner = {"pid": os.getpid(), "host": socket.gethostname(),
             "started": datetime.datetime.now().isoformat(timespec="seconds")}
    for _ in range(2):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
      except FileExistsError:
        self._refuse_or_break(force)
        continue
      with os.fdopen(fd, "w") as f:
        json.dump(owner, f)
      self.held = True
      distributed.at_abort(self.release)     # a lost peer process ends this one at once
      return
    raise MerjaxError(f"{self.path}: could not take the run lock")

  def _refuse_or_break(self, force: bool) -> None:
    try:
      with open(self.path) as f:
        owner = json.load(f)
    except (OSError, json.JSONDecodeError):
      owner = {}
    pid, host = owner.get("pid"), owner.get("host", "?")
    stale = host == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid)
    who = f"pid {pid} on {host} since {owner.get('started', '?')}"
    if not stale and owner:
      raise MerjaxError(f"{os.path.dirname(self.path)} is in use by another run ({who}); "
                        f"wait for it or use another --workdir")
    if not force:
      raise MerjaxError(f"{self.path}: stale lock of a run that is gone ({who}); pass --force "
                        f"to break it")
    os.remove(self.path)

  def release(self) -> None:
    distributed.cancel_at_abort(self.release)
    if self.held:
      self.held = False
      with contextlib.suppress(FileNotFoundError):
        os.remove(self.path)


# ---------------------------------------------------------------- fingerprint


def _frames_digest(frames) -> str:
  h = hashlib.sha1()
  if isinstance(frames, np.ndarray):
    h.update(str(frames.shape).encode())
    h.update(np.ascontiguousarray(frames).tobytes())
  else:
    for path in frames:
      try:
        st = os.stat(path)
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
      except OSError:
        h.update(f"{path}|missing\n".encode())
  return h.hexdigest()[:16]


def input_fingerprint(clips: Sequence, class_names: Sequence[str]) -> dict:
  """{"classes", "clips": {dataset/subject/clip: label, onset..offset, frames digest}}:
  what a resumed run must find unchanged."""
  return {"classes": list(class_names),
          "clips": {f"{c.dataset}/{c.subject}/{c.clip_id}": {
              "label": c.label, "onset": c.onset, "apex": c.apex, "offset": c.offset,
              "frames": _frames_digest(c.frames)} for c in clips}}


def fingerprint_difference(saved: Mapping, now: Mapping) -> str | None:
  """What changed between two input fingerprints, in one line (None: nothing)."""
  if saved["classes"] != now["classes"]:
    return f"classes {saved['classes']} there, {now['classes']} now"
  old, new = saved["clips"], now["clips"]
  gone, added = sorted(set(old) - set(new)), sorted(set(new) - set(old))
  if gone or added:
    parts = ([f"{len(gone)} clip(s) gone ({', '.join(gone[:3])})"] if gone else []) + (
        [f"{len(added)} clip(s) new ({', '.join(added[:3])})"] if added else [])
    return "; ".join(parts)
  for field, what in (("label", "label"), ("frames", "frame files"),
                      ("onset", "onset"), ("apex", "apex"), ("offset", "offset")):
    changed = [k for k in old if old[k][field] != new[k][field]]
    if changed:
      first = changed[0]
      detail = (f" ({first}: {old[first][field]!r} -> {new[first][field]!r})"
                if field != "frames" else f" ({', '.join(changed[:3])})")
      return f"{what} of {len(changed)} clip(s) changed{detail}"
  return None


# ---------------------------------------------------------------- the directory


def _first_difference(a, b, path="") -> str | None:
  """The first dotted key where two JSON trees differ."""
  if isinstance(a, dict) and isinstance(b, dict):
    for k in sorted(set(a) | set(b)):
      d = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
      if d:
        return d
    return None
  return None if a == b else f"{path or 'config'}: {a!r} there, {b!r} now"


def is_run_directory(path: str) -> bool:
  """True when `path` was made by merjax (its marker, or a config and ledger of older runs)."""
  return (os.path.exists(os.path.join(path, MARKER))
          or (os.path.exists(os.path.join(path, CONFIG))
              and os.path.exists(os.path.join(path, PROGRESS))))


class RunDirectory:
  """A run (or sweep) directory opened for writing: locked, marked, its config
  checked. `resuming` is True when it holds an interrupted run of the same config.
  Use as a context manager; the lock is released on exit."""

  def __init__(self, workdir: str, config: Mapping, *, kind: str = "run",
               restart: bool = False, force: bool = False):
    self.path = workdir
    self.kind = kind
    self.lock = RunLock(workdir)
    if not distributed.is_main():   # process 0 opens the directory; the others hear how
      opened = distributed.broadcast(None, "run directory")
      if "error" in opened:
        raise MerjaxError(f"process 0: {opened['error']}")
      self.resuming = opened["resuming"]
      return
    try:
      self._open_dir(force)
      self.lock.acquire(force)
    except MerjaxError as e:
      distributed.broadcast({"error": str(e)}, "run directory")
      raise
    try:
      self.resuming = self._start(config, restart)
    except BaseException as e:
      self.lock.release()
      distributed.broadcast({"error": str(e) or type(e).__name__}, "run directory")
      raise
    distributed.broadcast({"resuming": self.resuming}, "run directory")

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.lock.release()

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  def _open_dir(self, force: bool) -> None:
    if os.path.exists(self.path) and not os.path.isdir(self.path):
      raise MerjaxError(f"--workdir {self.path}: a file, not a folder")
    try:
      os.makedirs(self.path, exist_ok=True)
    except OSError as e:
      raise MerjaxError(f"--workdir {self.path}: cannot create it ({e.strerror})") from None
    if not os.access(self.path, os.W_OK | os.X_OK):
      raise MerjaxError(f"--workdir {self.path}: not writable")
    entries = [e for e in os.listdir(self.path) if e != LOCK]
    if entries and not is_run_directory(self.path):
      ours = sorted(set(entries) & set(OWN_FILES))
      if not force:
        raise MerjaxError(f"--workdir {self.path}: not empty and not a merjax run directory "
                          f"(no {MARKER}); choose another --workdir or pass --force")
      if ours:
        raise MerjaxError(f"--workdir {self.path}: not a merjax run directory and holds "
                          f"{', '.join(ours)}, which a run would overwrite; move them first")

  def _start(self, config: Mapping, restart: bool) -> bool:
    as_json = json.loads(json.dumps(config, sort_keys=True))
    if (os.path.exists(self.file(PROGRESS)) and os.path.exists(self.file(CONFIG))
        and not restart):
      saved = read_json(self.file(CONFIG), "config.json")
      saved[RUN_PROCESSES] = as_json[RUN_PROCESSES] = None   # a resume may use other counts
      difference = _first_difference(saved, as_json)
      if difference:
        raise MerjaxError(f"{self.path} holds a run with another config ({difference}); resume "
                          f"it with its own config, or pass --restart or another --workdir")
      read_json(self.file(PROGRESS), "progress.json")
      return True
    for name in OWN_FILES:
      path = self.file(name)
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.remove(path)
    write_json(self.file(MARKER), {"kind": self.kind, "created": datetime.datetime.now(
        ).isoformat(timespec="seconds")})
    write_json(self.file(CONFIG), {**config, RUN_PROCESSES: distributed.describe()},
               indent=2, sort_keys=True)
    return False

  def check_inputs(self, key: str, fingerprint: Mapping) -> None:
    """Records the input fingerprint of program `key`, or (resuming) refuses a changed one."""
    path = self.file(INPUTS)
    saved = read_json(path, INPUTS) if os.path.exists(path) else {}
    if self.resuming and key in saved:
      difference = fingerprint_difference(saved[key], fingerprint)
      if difference:
        raise MerjaxError(f"{self.path}: the inputs changed since the interrupted run "
                          f"({difference}); pass --restart to start over on the new inputs")
      return
    if distributed.is_main():
      write_json(path, {**saved, key: fingerprint})


# ---------------------------------------------------------------- the ledger


class Ledger:
  """`progress.json`: per program its group size, finished groups and their
  members' histories, and the size of every output file after the last
  finished group (anything past it is cut on resume). Written atomically."""

  def __init__(self, workdir: str, fresh: bool):
    self.workdir = workdir
    self.path = os.path.join(workdir, PROGRESS)
    if fresh or not os.path.exists(self.path):
      self.data = {"programs": {}, "files": {}}
    else:
      self.data = read_json(self.path, "progress.json")

  def program(self, key: str) -> dict:
    return self.data["programs"].setdefault(
        key, {"group_size": None, "num_groups": None, "groups_done": [], "members": []})

  def cut_partial_rows(self) -> None:
    """Truncates every output file to its size at the last finished group."""
    if not distributed.is_main():
      return
    for rel, size in self.data["files"].items():
      path = os.path.join(self.workdir, rel)
      if os.path.exists(path) and os.path.getsize(path) > size:
        os.truncate(path, size)

  def commit(self, paths) -> None:
    if not distributed.is_main():    # process 0 alone writes the run directory
      return
    for path in paths:
      self.data["files"][os.path.relpath(path, self.workdir)] = os.path.getsize(path)
    write_json(self.path, self.data)

  def members(self) -> list[dict]:
    """Every finished member's record, in member order per program."""
    out = []
    for program in self.data["programs"].values():
      out += sorted(program["members"], key=lambda m: m["member"])
    return out


def read_ledger(workdir: str) -> Ledger:
  """The ledger of a finished (or interrupted) run directory."""
  if not os.path.exists(os.path.join(workdir, PROGRESS)):
    raise MerjaxError(f"{workdir}: no {PROGRESS}; is it a merjax run directory?")
  return Ledger(workdir, fresh=False)


# ---------------------------------------------------------------- predictions


def prediction_header(class_names: Sequence[str]) -> tuple[str, ...]:
  return PREDICTION_COLUMNS + tuple(f"logit_{c}" for c in class_names)


def class_names_of(predictions_csv: str) -> list[str]:
  """A run's class order, from the logit columns of its predictions.csv."""
  try:
    with open(predictions_csv, newline="") as f:
      header = next(csv.reader(f))
  except (OSError, StopIteration):
    raise MerjaxError(f"{predictions_csv}: missing or empty; is it a finished run?") from None
  return [c[len("logit_"):] for c in header if c.startswith("logit_")]


class PredictionWriter:
  """Appends rows (PREDICTION_COLUMNS + logits) to one predictions CSV.

  multilabel (data.task=au; class_names = the AU set): `label` is the true AU vector,
  written as `label` / `pred` cells `AU1+AU2` (`none` when empty; pred: logit > 0), one
  `logit_<AU>` column per AU, then one 0/1 `true_<AU>` column per AU (docs/au.md)."""

  def __init__(self, path: str, class_names: Sequence[str], fresh: bool = True,
               multilabel: bool = False):
    self.path, self.class_names, self.multilabel = path, tuple(class_names), multilabel
    if distributed.is_main() and (fresh or not os.path.exists(path)):
      header = prediction_header(class_names)
      if multilabel:
        header += tuple(f"true_{c}" for c in class_names)
      with open(path, "w", newline="") as f:
        csv.writer(f).writerow(header)

  def write(self, rows) -> None:
    """rows: (dataset, subject, clip, fold, seed, label, logits_K) tuples."""
    from merjax.evaluation import au_metrics  # pylint: disable=import-outside-toplevel
    if not distributed.is_main():
      return
    with open(self.path, "a", newline="") as f:
      writer = csv.writer(f)
      for dataset, subject, clip, fold, seed, label, logits in rows:
        if self.multilabel:
          true = [int(v > 0.5) for v in label]
          writer.writerow([dataset, subject, clip, fold, seed,
                           au_metrics.label_text(true, self.class_names),
                           au_metrics.label_text(np.asarray(logits) > 0, self.class_names)]
                          + [f"{v:.6g}" for v in logits] + true)
          continue
        writer.writerow([dataset, subject, clip, fold, seed, label,
                         self.class_names[int(np.argmax(logits))]]
                        + [f"{v:.6g}" for v in logits])


def read_predictions(path: str, class_names=None):
  """The one reader of a predictions CSV (merjax.evaluation.aggregate.Predictions)."""
  from merjax.evaluation import aggregate  # pylint: disable=import-outside-toplevel
  return aggregate.read_predictions_csv(path, class_names)


def numbered_folder(parent: str, stem: str) -> str:
  """parent/stem, or parent/stem-2, -3, ... : the first that does not exist yet."""
  path, n = os.path.join(parent, stem), 1
  while os.path.exists(path):
    n += 1
    path = os.path.join(parent, f"{stem}-{n}")
  return path

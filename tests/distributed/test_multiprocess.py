"""Two processes on the loopback address (JAX's CPU backend, gloo collectives) give a
single-process run's files exactly: a tiny LOSO and a tiny sweep; a process killed
mid-way takes the other down with one line naming it, and the run resumes (with two
processes, or with one) to the uninterrupted run's results."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S = 240                    # any launch; the processes are killed after it

TINY = ["--model", "ststnet", "data.synthetic.num_subjects=4",
        "data.synthetic.clips_per_subject=3", "data.synthetic.size=32",
        "data.synthetic.min_frames=8", "data.synthetic.max_frames=10",
        "data.synthetic.num_classes=3", "data.modality=onset_apex_diff",
        "train.batch_size=4"]
# 4 folds in 2 groups of 2 members (one member per device with two processes).
LOSO = TINY + ["train.epochs=3", "train.group_size=2", "train.checkpoint_every=1"]
SWEEP = TINY + ["train.epochs=2", "train.group_size=4", "train.checkpoint_every=0",
                "grid.train.lr=1e-3,2e-2"]
FILES = ("predictions.csv", "metrics.json", "history.json", "results.md")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(root, processes: int, runs) -> list[subprocess.Popen]:
  """`processes` processes of one run of `runs` ([module, args] pairs)."""
  env = dict(os.environ, JAX_PLATFORMS="cpu",
             XLA_FLAGS="--xla_backend_optimization_level=0",
             JAX_COMPILATION_CACHE_DIR=str(root / "jax-cache"),
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
             MERJAX_CACHE=str(root / "cache"),
             MERJAX_DIST_INIT_TIMEOUT="60", MERJAX_DIST_HEARTBEAT_TIMEOUT="30",
             MERJAX_DIST_SHUTDOWN_TIMEOUT="30", MERJAX_DIST_BARRIER_TIMEOUT="120")
  coordinator = f"127.0.0.1:{_free_port()}" if processes > 1 else None
  return [subprocess.Popen(
      [sys.executable, os.path.join(HERE, "launch.py"), json.dumps(
          {"runs": runs, "coordinator": coordinator, "num_processes": processes,
           "process_id": i})],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for i in range(processes)]


def _finish(procs, timeout=TIMEOUT_S) -> list[tuple[int, str]]:
  """(exit status, stderr) of each process; every process is gone afterwards."""
  deadline, out = time.time() + timeout, []
  try:
    for p in procs:
      _, err = p.communicate(timeout=max(1.0, deadline - time.time()))
      out.append((p.returncode, err))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.communicate()
  return out


def _run(root, processes, runs):
  results = _finish(_start(root, processes, runs))
  for status, err in results:
    assert status == 0, err[-3000:]
  return results


def _latest_step(workdir) -> int:
  path = os.path.join(workdir, "checkpoints", "program_0", "latest")
  steps = [int(d) for d in os.listdir(path) if d.isdigit()] if os.path.isdir(path) else []
  return max(steps, default=-1)


def _kill_in_group_2(root, workdir, kill) -> list[subprocess.Popen]:
  """A two-process LOSO in `workdir`, SIGKILLed (the processes in `kill`) once the
  second group has an epoch checkpointed."""
  procs = _start(root, 2, [["loso", ["--workdir", workdir] + LOSO]])
  deadline = time.time() + TIMEOUT_S
  while (_latest_step(workdir) < 1_000_001 and all(p.poll() is None for p in procs)
         and time.time() < deadline):
    time.sleep(0.02)
  for i in kill:
    procs[i].send_signal(signal.SIGKILL)
  return procs


def _read(workdir, name):
  with open(os.path.join(workdir, name)) as f:
    return f.read()


def _assert_same_run(a, b, prefix=""):
  """Equal metrics, labels and predicted classes; logits and losses equal to float32
  rounding (one device mapping two members and two devices one member each compile to
  programs that may round differently in the last digit)."""
  for name in ("metrics.json", "results.md"):
    assert _read(a, prefix + name) == _read(b, prefix + name), name
  rows_a, rows_b = (_read(d, prefix + "predictions.csv").splitlines() for d in (a, b))
  assert len(rows_a) == len(rows_b) and rows_a[0] == rows_b[0]
  for ra, rb in zip(rows_a[1:], rows_b[1:]):
    ra, rb = ra.split(","), rb.split(",")
    assert ra[:7] == rb[:7]                # dataset, subject, clip, fold, seed, label, pred
    np.testing.assert_allclose(np.float64(ra[7:]), np.float64(rb[7:]), rtol=1e-4, atol=1e-5)
  ha, hb = (json.loads(_read(d, prefix + "history.json")) for d in (a, b))
  assert [m["fold"] for m in ha] == [m["fold"] for m in hb]
  for ma, mb in zip(ha, hb):
    np.testing.assert_allclose(ma["loss"], mb["loss"], rtol=1e-5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("distributed")
  dirs = {k: str(root / k) for k in ("loso1", "loso2", "sweep1", "sweep2", "died", "killed")}
  # Process 1 dies; process 0 stops by itself, naming it.
  died = _kill_in_group_2(root, dirs["died"], kill=[1])
  died = _finish(died)            # a hang would be killed here, failing the status check
  died_progress = json.loads(_read(dirs["died"], "progress.json"))
  died_lock = os.path.exists(os.path.join(dirs["died"], "run.lock"))
  # Both processes killed (a preempted job: process 0's lock is left behind).
  _finish(_kill_in_group_2(root, dirs["killed"], kill=[0, 1]))
  killed_progress = json.loads(_read(dirs["killed"], "progress.json"))
  killed_lock = os.path.exists(os.path.join(dirs["killed"], "run.lock"))
  # Two processes: the first run resumed, then a LOSO and a sweep from scratch.
  two = _run(root, 2, [["loso", ["--workdir", dirs["died"]] + LOSO],
                       ["loso", ["--workdir", dirs["loso2"]] + LOSO],
                       ["sweep", ["--workdir", dirs["sweep2"]] + SWEEP]])
  # One process: the second run resumed, then the single-process references.
  one = _run(root, 1, [["loso", ["--workdir", dirs["killed"], "--force"] + LOSO],
                       ["loso", ["--workdir", dirs["loso1"]] + LOSO],
                       ["sweep", ["--workdir", dirs["sweep1"]] + SWEEP]])
  return {"dirs": dirs, "two": two, "one": one, "died": died,
          "died_progress": died_progress, "killed_progress": killed_progress,
          "locks_left": (died_lock, killed_lock)}


def test_two_process_loso_equals_one_process(runs):
  d = runs["dirs"]
  _assert_same_run(d["loso2"], d["loso1"])


def test_two_process_sweep_equals_one_process(runs):
  d = runs["dirs"]
  assert _read(d["sweep2"], "sweep.json") == _read(d["sweep1"], "sweep.json")
  assert _read(d["sweep2"], "sweep.md") == _read(d["sweep1"], "sweep.md")
  for combo in ("combo_000/", "combo_001/"):
    _assert_same_run(d["sweep2"], d["sweep1"], combo)


def test_process_zero_alone_writes_and_config_records_the_counts(runs):
  d = runs["dirs"]
  recorded = json.loads(_read(d["loso2"], "config.json"))["run_processes"]
  assert recorded == {"processes": 2, "devices": 2, "local_devices": 1}
  assert json.loads(_read(d["loso1"], "config.json"))["run_processes"]["processes"] == 1
  (_, err0), (_, err1) = runs["two"]
  assert "process 0 of 2" in err0 and "process 1 of 2" in err1
  assert "2 device(s)" in err0          # the member axis is sharded over both processes


def test_a_dead_process_is_named_in_one_line_not_a_hang(runs):
  (status0, err0), (status1, _) = runs["died"]
  assert status1 == -signal.SIGKILL
  assert status0 == 4, err0[-3000:]
  errors = [line for line in err0.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and "process 1 (" in errors[0] and "died" in errors[0], err0[-3000:]
  assert "Traceback" not in err0
  assert runs["died_progress"]["programs"]["0"]["groups_done"] == [0]   # mid-way
  # process 0 released its run lock on the way out (a SIGKILLed one leaves it)
  assert runs["locks_left"] == (False, True)


@pytest.mark.parametrize("name", FILES)
def test_two_process_run_resumed_by_two_equals_uninterrupted_exactly(runs, name):
  d = runs["dirs"]
  (_, err0), _ = runs["two"]
  assert "resumed from the epoch 1 checkpoint" in err0 and "1 of 2 groups already done" in err0
  assert _read(d["died"], name) == _read(d["loso2"], name)


def test_two_process_run_resumed_by_one_equals_uninterrupted(runs):
  d = runs["dirs"]
  assert runs["killed_progress"]["programs"]["0"]["groups_done"] == [0]   # killed mid-way
  (_, err), = runs["one"]
  assert "resumed from the epoch" in err and "1 of 2 groups already done" in err
  _assert_same_run(d["killed"], d["loso1"])


@pytest.mark.parametrize("flags, says", [
    (["--coordinator", "127.0.0.1:1"], "go together"),
    (["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "2"],
     "--process-id 2: not in 0..1"),
    (["--coordinator", "localhost", "--num-processes", "2", "--process-id", "0"],
     "not HOST:PORT")])
def test_bad_distributed_flags_are_one_line(flags, says, capsys, tmp_path):
  from experiments import loso  # pylint: disable=import-outside-toplevel
  assert loso.main(["--model", "ststnet", "--workdir", str(tmp_path / "w")] + flags) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("error: ") and says in err[0]
  assert not (tmp_path / "w").exists()

"""Kill a LOSO run with SIGKILL mid-training, resume it, and get exactly the
uninterrupted run's predictions and metrics; then predict with its models."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from experiments import predict

SYNTHETIC = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
             "data.synthetic.size=32", "data.synthetic.min_frames=8",
             "data.synthetic.max_frames=10", "data.synthetic.num_classes=3"]
ARGS = ["--model", "ststnet"] + SYNTHETIC + [
    "data.modality=onset_apex_diff", "data.cache_dir=", "train.epochs=16", "train.batch_size=4",
    "train.group_size=1", "train.checkpoint_every=1"]
# The CLI in a fresh interpreter, with the test suite's fast-compile settings.
LAUNCH = ("import sys, jax; jax.config.update('jax_threefry_partitionable', False); "
          "from experiments import loso; sys.exit(loso.main(sys.argv[1:]))")


def _loso(workdir, cache, *extra):
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=cache,
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
  return subprocess.Popen([sys.executable, "-c", LAUNCH, "--workdir", workdir, *extra] + ARGS,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _latest_step(workdir):
  path = os.path.join(workdir, "checkpoints", "program_0", "latest")
  steps = [int(d) for d in os.listdir(path) if d.isdigit()] if os.path.isdir(path) else []
  return max(steps, default=-1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("resume")
  cache = str(root / "jax-cache")
  whole, killed = str(root / "whole"), str(root / "killed")
  proc = _loso(whole, cache)
  out, err = proc.communicate(timeout=600)
  assert proc.returncode == 0, err[-2000:]
  proc = _loso(killed, cache)
  deadline = time.time() + 600
  while _latest_step(killed) < 1_000_002 and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)                 # until group 2 (of 3) has two epochs checkpointed
  proc.send_signal(signal.SIGKILL)
  proc.communicate()
  progress = json.load(open(os.path.join(killed, "progress.json")))
  assert progress["programs"]["0"]["groups_done"] == [0]       # killed inside group 2
  proc = _loso(killed, cache)            # SIGKILL left its lock: reported, broken by --force
  out, err = proc.communicate(timeout=600)
  assert proc.returncode == 2 and "stale lock" in err and "--force" in err, err[-2000:]
  proc = _loso(killed, cache, "--force")
  out, err = proc.communicate(timeout=600)
  assert proc.returncode == 0, err[-2000:]
  return whole, killed, err


def test_resume_says_so_and_continues_from_the_checkpoint(runs):
  _, _, err = runs
  assert "resuming the interrupted run" in err
  assert "1 of 3 groups already done" in err
  assert "group 2/3: resumed from the epoch" in err


@pytest.mark.parametrize("name", ["predictions.csv", "metrics.json", "history.json"])
def test_resumed_run_equals_uninterrupted_run_exactly(runs, name):
  whole, killed, _ = runs
  assert open(os.path.join(whole, name)).read() == open(os.path.join(killed, name)).read()


def test_predict_with_the_finished_run(runs, tmp_path):
  whole, _, _ = runs
  out = str(tmp_path / "new.csv")
  assert predict.main(["--workdir", whole, "--dataset", "synthetic", "--out", out]
                      + SYNTHETIC) == 0
  rows = list(csv.DictReader(open(out)))
  run_rows = list(csv.DictReader(open(os.path.join(whole, "predictions.csv"))))
  assert list(rows[0]) == list(run_rows[0])                    # a run's columns
  assert len(rows) == 3 * 12                                   # 3 fold models x 12 clips
  # Each fold model's predictions on its own held-out subject are the run's.
  own = [r for r in rows if r["fold"] == f"{r['dataset']}/{r['subject']}"]
  assert sorted(map(tuple, (r.values() for r in own))) == sorted(
      map(tuple, (r.values() for r in run_rows)))


def test_a_different_config_is_refused(runs, capsys):
  whole, _, _ = runs
  from experiments import loso
  assert loso.main(["--workdir", whole] + ARGS[:-1] + ["train.checkpoint_every=2"]) == 2
  assert "train.checkpoint_every: 1 there, 2 now" in capsys.readouterr().err

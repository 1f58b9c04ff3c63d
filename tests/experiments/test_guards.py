"""Guards of the run path: every bad input is one line naming the offending thing,
nothing is silently wrong, nothing computed is lost (docs/reliability.md)."""

import csv
import errno
import json
import os
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from experiments import loso, predict, sweep
from merjax import cli, experiment, rundir
from merjax.configs import schema

TINY = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
        "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=10",
        "data.synthetic.num_classes=3", "data.modality=onset_apex_diff", "data.cache_dir=",
        "train.epochs=1", "train.batch_size=8", "train.checkpoint_every=0"]


def _one_line_error(capsys, *names):
  """The captured stderr is one `error: ...` line naming every one of `names`, no traceback."""
  err = capsys.readouterr().err
  assert "Traceback" not in err, err
  lines = [s for s in err.splitlines() if s.startswith("error: ")]
  assert len(lines) == 1, err
  for name in names:
    assert name in lines[0], (name, lines[0])
  return lines[0]


# ------------------------------------------------------- errors before any data is read

BAD_CONFIGS = [
    # (overrides, names the message must hold)
    (["train.epoch=5"], ["train.epoch: unknown key", "did you mean train.epochs?"]),
    (["trian.seeds=3"], ["trian.seeds: unknown key", "train.seeds"]),
    (["train.optimzer.learning_rate=1e-2"], ["train.optimzer.learning_rate",
                                             "train.optimizer.learning_rate"]),
    (["train.selection.rule=inner-val"], ["train.selection.rule", "'inner-val'"]),
    (["train.selection.rule=best"], ["train.selection.rule", "'best'"]),
    (["train.epochs=0"], ["train.epochs", "minimum 1"]),
    (["train.epochs=-3"], ["train.epochs", "-3"]),
    (["train.epochs=abc"], ["train.epochs", "'abc' is not an integer"]),
    (["train.batch_size=0"], ["train.batch_size"]),
    (["train.batch_size=-8"], ["train.batch_size", "-8"]),
    (["data.test_fraction=1.5"], ["data.test_fraction", "1.5"]),
    (["train.strategy=pmap"], ["train.strategy", "'pmap'"]),
    (["train.param_dtype=float16"], ["train.param_dtype", "'float16'"]),
    (["data.folds=cross"], ["data.folds=cross", "data.train_dataset", "data.test_dataset"]),
    (["data.folds=cross", "data.train_dataset=casme2", "data.test_dataset=casme2"],
     ["data.train_dataset", "data.test_dataset", "casme2"]),
    (["data.modality=flow_stran"], ["data.inputs.image", "flow_stran"]),
    (["model.dropot=0.1"], ["model.dropot", "model.dropout"]),
    (["train.standardize=true"], ["train.standardize: unknown key"]),
    (["notakeyvalue"], ["notakeyvalue", "key=value"]),
    (["data.preprocess.size=abc"], ["data.preprocess.size", "'abc'"]),
    (["train.lr=fast"], ["train.optimizer.learning_rate", "'fast' is not a number"]),
    (["train.optimizer.momentun=0.9"], ["train.optimizer.momentun", "adam"]),
    (["train.augment.flipp=true"], ["train.augment.flipp", "train.augment.flip"]),
    (["data.options.x=1"], ["data.options.x", "data.synthetic"]),
    (["data.synthetic.num_subject=3"], ["data.synthetic.num_subject",
                                        "data.synthetic.num_subjects"]),
]


@pytest.mark.parametrize("overrides,names", BAD_CONFIGS,
                         ids=[" ".join(c[0]) for c in BAD_CONFIGS])
def test_bad_config_is_one_line_before_any_data(overrides, names, tmp_path, capsys,
                                                monkeypatch):
  def no_data(*_):
    raise AssertionError("data was read")
  from merjax.data import registry
  monkeypatch.setattr(registry, "load_clips", no_data)
  workdir = tmp_path / "run"
  assert loso.main(["--model", "ststnet", "--workdir", str(workdir)] + TINY + overrides) == 2
  _one_line_error(capsys, *names)
  assert not workdir.exists()          # refused before the run directory was made


@pytest.mark.parametrize("argv,names", [
    (["--seeds", "0"], ["train.seeds", "0"]),
    (["--seeds", "-1"], ["train.seeds", "-1"]),
    (["--model", "ststnett"], ["ststnett", "ststnet"]),
])
def test_bad_command_line_is_one_line(argv, names, tmp_path, capsys):
  args = ["--model", "ststnet"] + [a for a in argv]
  assert loso.main(args + ["--workdir", str(tmp_path / "r")] + TINY) == 2
  _one_line_error(capsys, *names)


def test_sweep_grid_typo_is_one_line(tmp_path, capsys):
  assert sweep.main(["--model", "ststnet", "--workdir", str(tmp_path / "s"),
                     "grid.train.lrr=1e-3,1e-4"] + TINY) == 2
  _one_line_error(capsys, "grid.train.lrr")
  assert sweep.main(["--model", "ststnet", "--workdir", str(tmp_path / "s"),
                     "grid.train.epochs=2,0"] + TINY) == 2
  _one_line_error(capsys, "train.epochs", "0")


def test_schema_lists_every_key_with_a_meaning_and_one_default():
  def leaves(node, path=""):
    for k, v in node.items():
      if k in (schema.OPEN, schema.DEFAULT):
        continue
      if isinstance(v, dict):
        yield from leaves(v, f"{path}{k}.")
      else:
        yield f"{path}{k}", v
  keys = dict(leaves(schema.SCHEMA))
  assert keys["train.checkpoint_every"].default == 5
  assert all(k.meaning for k in keys.values())
  # Every default passes its own check, and the base config validates as it is.
  assert all(k.check(k.default) is None for k in keys.values())
  base = schema.defaults()
  base["model"]["name"] = "ststnet"
  assert schema.validate(base)["train"]["epochs"] == 10


def test_oracle_is_reachable_only_by_its_name():
  assert schema.SELECTION_RULES == ("last", "inner_val", "oracle")
  for rule in ("best", "inner-val", "Oracle", "test"):
    assert schema.SCHEMA["train"]["selection"]["rule"].check(rule)


# ------------------------------------------------------- the run directory


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished tiny LOSO run with its fold models saved."""
  workdir = str(tmp_path_factory.mktemp("guards") / "run")
  assert loso.main(["--model", "ststnet", "--workdir", workdir] + TINY) == 0
  return workdir


def test_marker_lock_and_fingerprint_are_written(finished):
  marker = json.load(open(os.path.join(finished, rundir.MARKER)))
  assert marker["kind"] == "run"
  assert not os.path.exists(os.path.join(finished, rundir.LOCK))      # released at the end
  inputs = json.load(open(os.path.join(finished, rundir.INPUTS)))
  assert len(inputs["program_0"]["clips"]) == 12


def test_foreign_folder_is_refused_and_kept(tmp_path, capsys):
  foreign = tmp_path / "mine"
  (foreign / "checkpoints").mkdir(parents=True)
  (foreign / "checkpoints" / "precious.txt").write_text("keep me")
  (foreign / "config.json").write_text("{\"mine\": 1}")
  assert loso.main(["--model", "ststnet", "--workdir", str(foreign)] + TINY) == 2
  _one_line_error(capsys, str(foreign), "not a merjax run directory", "--force")
  # --force still never overwrites files a run would write there.
  assert loso.main(["--model", "ststnet", "--workdir", str(foreign), "--force"] + TINY) == 2
  _one_line_error(capsys, "checkpoints", "config.json")
  assert (foreign / "checkpoints" / "precious.txt").read_text() == "keep me"
  assert (foreign / "config.json").read_text() == "{\"mine\": 1}"


def test_workdir_that_is_a_file_is_one_line(tmp_path, capsys):
  path = tmp_path / "afile"
  path.write_text("x")
  assert loso.main(["--model", "ststnet", "--workdir", str(path / "run")] + TINY) == 2
  _one_line_error(capsys, str(path))
  assert loso.main(["--model", "ststnet", "--workdir", str(path)] + TINY) == 2
  _one_line_error(capsys, str(path), "a file")


def test_live_lock_is_refused_and_stale_lock_needs_force(finished, tmp_path, capsys):
  lock = os.path.join(finished, rundir.LOCK)
  sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    with open(lock, "w") as f:
      json.dump({"pid": sleeper.pid, "host": socket.gethostname(), "started": "now"}, f)
    assert loso.main(["--model", "ststnet", "--workdir", finished] + TINY) == 2
    _one_line_error(capsys, "in use by another run", f"pid {sleeper.pid}")
    assert loso.main(["--model", "ststnet", "--workdir", finished, "--force"] + TINY) == 2
    _one_line_error(capsys, "in use by another run")      # --force never breaks a live lock
  finally:
    sleeper.kill()
    sleeper.wait()
  assert loso.main(["--model", "ststnet", "--workdir", finished] + TINY) == 2
  _one_line_error(capsys, "stale lock", f"pid {sleeper.pid}", "--force")
  before = open(os.path.join(finished, "predictions.csv")).read()
  assert loso.main(["--model", "ststnet", "--workdir", finished, "--force"] + TINY) == 0
  assert open(os.path.join(finished, "predictions.csv")).read() == before
  assert not os.path.exists(lock)


def test_two_runs_on_one_workdir_take_turns(tmp_path):
  """The second of two concurrent runs on one workdir is refused, and the
  first's predictions hold every row once."""
  workdir = str(tmp_path / "run")
  code = ("import sys; from experiments import loso; sys.exit(loso.main(sys.argv[1:]))")
  argv = [sys.executable, "-c", code, "--model", "ststnet", "--workdir", workdir] + TINY
  first = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
  lock = os.path.join(workdir, rundir.LOCK)
  while not os.path.exists(lock) and first.poll() is None:
    time.sleep(0.01)
  second = subprocess.run(argv, capture_output=True, text=True, check=False)
  first.communicate(timeout=600)
  assert first.returncode == 0
  assert second.returncode == 2 and "in use by another run" in second.stderr
  rows = list(csv.DictReader(open(os.path.join(workdir, "predictions.csv"))))
  assert len(rows) == 12 == len({r["clip"] for r in rows})


def test_damaged_progress_names_the_file(finished, tmp_path, capsys):
  import shutil
  copy = str(tmp_path / "copy")
  shutil.copytree(finished, copy)
  path = os.path.join(copy, rundir.PROGRESS)
  text = open(path).read()
  open(path, "w").write(text[:len(text) // 2])
  assert loso.main(["--model", "ststnet", "--workdir", copy] + TINY) == 2
  _one_line_error(capsys, path, "--restart")


def _manifest(root, labels):
  root.mkdir(exist_ok=True)
  rows = []
  for i, label in enumerate(labels):
    image = np.full((28, 28, 3), 40 * i, np.uint8)
    cv2.imwrite(str(root / f"{i}.png"), image)
    rows.append({"subject": f"s{i % 3}", "clip": f"c{i}", "label": label, "path": f"{i}.png"})
  with open(root / "m.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, ["subject", "clip", "label", "path"])
    writer.writeheader()
    writer.writerows(rows)
  return root / "m.csv"


MANIFEST_RUN = ["--model", "ststnet", "--dataset", "manifest", "data.modality=image",
                "data.cache_dir=", "train.epochs=1", "train.batch_size=4",
                "train.checkpoint_every=0"]


def test_resume_refuses_changed_labels(tmp_path, capsys):
  labels = ["a", "b", "a", "b", "a", "b"]
  manifest = _manifest(tmp_path / "data", labels)
  workdir = str(tmp_path / "run")
  assert loso.main(MANIFEST_RUN + ["--workdir", workdir, f"data.manifest={manifest}"]) == 0
  before = open(os.path.join(workdir, "predictions.csv")).read()
  labels[3] = "a"                                     # the sheet's label corrected
  _manifest(tmp_path / "data", labels)
  capsys.readouterr()
  assert loso.main(MANIFEST_RUN + ["--workdir", workdir, f"data.manifest={manifest}"]) == 2
  _one_line_error(capsys, "inputs changed", "label of 1 clip(s)", "manifest/s0/c3",
                  "--restart")
  assert open(os.path.join(workdir, "predictions.csv")).read() == before


def test_predict_refuses_overrides_of_what_the_models_see(finished, capsys):
  for item in ("data.modality=apex", "data.input_scale=2", "data.preprocess.size=16",
               "data.protocol=x"):
    assert predict.main(["--workdir", finished, "--dataset", "synthetic", item]) == 2
    _one_line_error(capsys, item.split("=")[0] if "modality" not in item else "data.inputs.image",
                    "run's config")


def test_predict_never_overwrites(finished, tmp_path, capsys):
  argv = ["--workdir", finished, "--dataset", "synthetic"] + [
      t for t in TINY if t.startswith("data.synthetic.")]
  assert predict.main(argv) == 0
  assert predict.main(argv) == 0
  first = os.path.join(finished, "predict-synthetic", "predictions.csv")
  second = os.path.join(finished, "predict-synthetic-2", "predictions.csv")
  assert open(first).read() == open(second).read()
  capsys.readouterr()
  assert predict.main(argv + ["--out", first]) == 2
  _one_line_error(capsys, first, "exists")


def test_failed_members_are_printed_tabled_and_exit_3(tmp_path, capsys, monkeypatch):
  stage = experiment.stage

  def poisoned(clips, data_cfg):           # subject s01: infinite inputs
    inputs = stage(clips, data_cfg)
    bad = np.asarray([c.subject.endswith("1") for c in clips])
    return {r: np.where(bad[:, None, None, None], np.inf, x) for r, x in inputs.items()}
  monkeypatch.setattr(experiment, "stage", poisoned)
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--workdir", workdir] + TINY) == cli.FAILED_MEMBERS
  captured = capsys.readouterr()
  assert "Traceback" not in captured.err
  failed = [line for line in captured.err.splitlines() if line.startswith("FAILED")]
  assert failed and "epoch 1" in captured.err
  results = open(os.path.join(workdir, "results.md")).read()
  assert "FAILED members (2)" in results and "fold synthetic/s02" in results
  header, first = open(os.path.join(workdir, "results.csv")).read().splitlines()[:2]
  assert header.endswith("failed_members") and first.endswith(",2")
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert {m["fold"] for m in metrics["failed_members"]} == {"synthetic/s02", "synthetic/s03"}
  assert all(m["failed_epoch"] == 1 for m in metrics["failed_members"])
  assert loso.main(["--model", "ststnet", "--workdir", workdir, "--allow-failed"] + TINY) == 0


def test_sweep_with_a_diverged_combination_still_writes_its_table(tmp_path, capsys):
  workdir = str(tmp_path / "sweep")
  assert sweep.main(["--model", "ststnet", "--workdir", workdir,
                     "grid.train.lr=1e-3,1e38"] + TINY + ["train.epochs=3"]) == cli.FAILED_MEMBERS
  table = open(os.path.join(workdir, "sweep.md")).read()
  (row,) = [line for line in table.splitlines() if line.startswith("| combo_001")]
  assert "FAILED" in row
  assert "**FAILED members**" in table
  capsys.readouterr()


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "no space left"),
                                        (errno.EROFS, "cannot write here")])
def test_disk_errors_are_one_line(code, words, tmp_path, capsys, monkeypatch):
  def failing(path, *_, **__):
    raise OSError(code, os.strerror(code), path)
  monkeypatch.setattr(rundir, "write_json", failing)
  assert loso.main(["--model", "ststnet", "--workdir", str(tmp_path / "r")] + TINY) == 2
  _one_line_error(capsys, words, str(tmp_path / "r"))


def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
  def interrupted(*_):
    raise KeyboardInterrupt
  monkeypatch.setattr(experiment, "prepare_data", interrupted)
  workdir = str(tmp_path / "r")
  assert loso.main(["--model", "ststnet", "--workdir", workdir] + TINY) == cli.INTERRUPTED
  err = capsys.readouterr().err
  assert "Traceback" not in err and "interrupted" in err and f"--workdir {workdir}" in err
  assert not os.path.exists(os.path.join(workdir, rundir.LOCK))        # released


def test_overrides_on_both_sides_of_workdir(tmp_path):
  workdir = str(tmp_path / "r")
  args = loso.parser()
  parsed = cli.parse(args, ["--model", "ststnet", "train.epochs=3", "--workdir", workdir,
                            "train.batch_size=4"])
  assert parsed.overrides == ["train.epochs=3", "train.batch_size=4"]
  assert parsed.workdir == workdir


def _damage(folder):
  """Truncates every file under `folder` to nothing."""
  for root, _, files in os.walk(folder):
    for name in files:
      open(os.path.join(root, name), "w").close()


def test_damaged_final_checkpoint_names_it(finished, tmp_path, capsys):
  import shutil
  copy = str(tmp_path / "copy")
  shutil.copytree(finished, copy)
  group = os.path.join(copy, "checkpoints", "program_0", "final", "group_0000")
  _damage(group)
  argv = ["--workdir", copy, "--dataset", "synthetic"] + [
      t for t in TINY if t.startswith("data.synthetic.")]
  assert predict.main(argv) == 2
  _one_line_error(capsys, group, "damaged checkpoint", "--restart")


def test_damaged_latest_checkpoint_names_it(tmp_path):
  from merjax.errors import MerjaxError
  from merjax.training import checkpoint
  ckpt = checkpoint.RunCheckpointer(str(tmp_path / "c"), every_epochs=1)
  state = {"w": np.ones((2, 3), np.float32)}
  ckpt.save_latest(0, 1, state, [np.zeros(2)])
  assert ckpt.restore_latest(0, state)[0] == 1
  _damage(str(tmp_path / "c" / "latest"))
  with pytest.raises(MerjaxError, match=r"latest/1: damaged checkpoint .*--restart"):
    ckpt.restore_latest(0, state)
  ckpt.close()

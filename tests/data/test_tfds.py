"""TFDS builders and reader on fixture copies (skipped where tensorflow-datasets is absent).

The first tests need no tfds: merjax must import and load without it.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from merjax.data import labels, registry, testing
from merjax.errors import MerjaxError

BUILT = ("casme2", "samm", "smic", "casme_sq", "casme3", "mmew", "megc2019", "casme2_samm",
         "casme", "fourdme", "casme3c")


# ------------------------------------------------------------ without tfds

def test_registry_and_loaders_do_not_import_tfds(tmp_path):
  code = (
      "import sys\n"
      "from merjax.data import registry, testing\n"
      "import merjax.data.tfds\n"
      "root = testing.make_casme2(sys.argv[1])\n"
      "assert len(registry.loader('casme2')(root)) == len(testing.CASME2_ROWS)\n"
      "print(sorted(m for m in sys.modules\n"
      "            if m.split('.')[0] in ('tensorflow_datasets', 'tensorflow', 'array_record')))\n")
  out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "casme2")],
                       capture_output=True, text=True, timeout=120, check=False)
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == "[]"


def test_reader_without_tfds_says_how_to_install(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
  with pytest.raises(MerjaxError, match=r"pip install 'merjax\[tfds\]'"):
    registry.loader("tfds")(str(tmp_path))
  from merjax.data.tfds import load_clips
  with pytest.raises(MerjaxError, match="not installed"):
    load_clips("casme2", str(tmp_path))


# ------------------------------------------------------------ with tfds

@pytest.fixture(scope="module")
def tfds():
  return pytest.importorskip("tensorflow_datasets")


@pytest.fixture(scope="module")
def builders(tfds):
  from merjax.data.tfds import builders as module
  return module


def prepare(name, tmp_path, configs=("all",)):
  from merjax.data.tfds.prepare import prepare as run
  manual = getattr(testing, f"make_{name}")(str(tmp_path / name))
  data_dir = str(tmp_path / "tfds")
  return manual, data_dir, run(name, manual, data_dir, configs)


def assert_same_clips(got, want):
  assert [c.key for c in got] == [c.key for c in want]
  for g, w in zip(got, want):
    assert (g.label, g.onset, g.apex, g.offset, g.action_units, g.source) == \
        (w.label, w.onset, w.apex, w.offset, w.action_units, w.source), w.key
    frames_TxHxWxC = w.read_frames()
    assert g.frames.dtype == np.uint8 and g.frames.shape == frames_TxHxWxC.shape, w.key
    assert np.array_equal(g.frames, frames_TxHxWxC), w.key


@pytest.mark.parametrize("name", BUILT)
def test_prepared_examples_equal_loader_clips(name, tmp_path, builders):
  from merjax.data.tfds import load_clips
  manual, data_dir, paths = prepare(name, tmp_path)
  assert paths == [os.path.join(data_dir, name, "all", "1.0.0")]
  files = os.listdir(paths[0])
  assert any(f.startswith(f"{name}-train.array_record") for f in files), files
  want = registry.loader(name)(manual)
  got = load_clips(name, data_dir)
  assert_same_clips(got, want)
  if name == "smic":
    assert all(c.apex is None for c in got)
  if name == "casme2":
    assert {c.clip_id: c.apex for c in got}["EP12_01f"] is None
  if name == "megc2019":
    assert {c.dataset for c in got} == {"casme2", "samm", "smic"} and len(got) == 442
  if name == "casme2_samm":
    assert [c.dataset for c in got] == ["casme2"] * 12 + ["samm"] * 11


def test_protocol_config_has_class_label(tmp_path, builders):
  from merjax.data.tfds import load_clips
  manual, data_dir, paths = prepare("samm", tmp_path, ("samm_5class_fdp",))
  protocol = labels.get_protocol("samm_5class_fdp")
  kept, y_N, dropped = protocol.apply(registry.loader("samm")(manual))
  assert dropped  # the fixture's disgust clips are outside it
  builder = builders.Samm(config="samm_5class_fdp", data_dir=data_dir)
  assert builder.info.features["label"].names == list(protocol.classes)
  source = builder.as_data_source(split="train")
  codes = {int(e["index"]): int(e["label"]) for e in source}
  assert [codes[i] for i in range(len(kept))] == y_N.tolist()
  got = load_clips("samm/samm_5class_fdp", data_dir)
  assert_same_clips(got, kept)
  assert [c.label for c in got] == [c.label for c in kept]  # the dataset's own names


def test_registry_tfds_loader_and_check_data(tmp_path, builders):
  from experiments.check_data import check
  manual, data_dir, paths = prepare("casme2", tmp_path, ("all", "casme2_5class"))
  load = registry.loader("tfds")
  with pytest.raises(MerjaxError, match="expected one prepared TFDS dataset"):
    load(data_dir)  # two configs under it
  want = registry.loader("casme2")(manual, protocol="casme2_5class")
  assert_same_clips(load(os.path.join(data_dir, "casme2", "all"), protocol="casme2_5class"), want)
  assert_same_clips(load(paths[1]), want)
  result, usable = check("tfds", paths[0], "casme2_5class")
  assert usable and result["samples"] == len(want)


def test_prepare_cli(tmp_path, builders, capsys):
  from merjax.data.tfds.prepare import main
  manual = testing.make_mmew(str(tmp_path / "mmew"))
  data_dir = str(tmp_path / "tfds")
  assert main(["--dataset", "mmew", "--manual_dir", manual, "--data_dir", data_dir]) == 0
  printed = [l for l in capsys.readouterr().out.splitlines() if l.startswith(data_dir)]
  assert printed == [os.path.join(data_dir, "mmew", c, "1.0.0") for c in ("all", "mmew_6class")]
  assert main(["--dataset", "mmew", "--manual_dir", str(tmp_path / "none"),
               "--data_dir", data_dir]) == 1
  assert "manual_dir missing or empty" in capsys.readouterr().err


def test_errors_are_one_line(tmp_path, builders):
  from merjax.data.tfds import load_clips
  from merjax.data.tfds.prepare import prepare as run
  data_dir = str(tmp_path / "tfds")
  with pytest.raises(MerjaxError, match="unknown merjax TFDS dataset 'casme9'"):
    run("casme9", str(tmp_path), data_dir)
  manual = testing.make_casme2(str(tmp_path / "casme2"))
  with pytest.raises(MerjaxError, match="unknown config 'casme2_9class'"):
    run("casme2", manual, data_dir, ["casme2_9class"])
  with pytest.raises(MerjaxError, match="is not prepared"):
    load_clips("casme2", data_dir)
  frame = os.path.join(manual, "Cropped", "sub01", "EP02_01f", "reg_img50.jpg")
  with open(frame, "wb") as f:
    f.write(b"not a jpeg")
  with pytest.raises(MerjaxError, match="reg_img50.jpg: not a readable image"):
    run("casme2", manual, data_dir, ["all"])


def test_every_dataset_and_fixed_protocol_has_a_builder(builders):
  # composite: a union defined by its config (members, roots), not one dataset copy.
  real = set(registry.DATASETS) - {"synthetic", "manifest", "tfds", "composite"}
  assert set(builders.BUILDERS) == real == set(BUILT)
  for name, cls in builders.BUILDERS.items():
    assert cls.name == name and cls.MANUAL_DOWNLOAD_INSTRUCTIONS
    assert cls.BUILDER_CONFIGS[0].name == "all"
  configured = {c.protocol for cls in builders.BUILDERS.values() for c in cls.BUILDER_CONFIGS}
  fixed = {n for n, p in labels.PROTOCOLS.items() if isinstance(p, labels.LabelProtocol)
           and n != "composite_3class"}
  assert fixed <= configured


def test_custom_config_passes_loader_options(tmp_path, builders):
  from merjax.data.tfds import load_clips
  from merjax.data.tfds.prepare import prepare as run
  manual = testing.make_casme2(str(tmp_path / "casme2"), raw=True)
  config = builders.MerConfig(name="raw_frames", protocol="casme2_3class",
                              options={"frames": "raw"})
  data_dir = str(tmp_path / "tfds")
  assert run("casme2", manual, data_dir, [config]) == [
      os.path.join(data_dir, "casme2", "raw_frames", "1.0.0")]
  want = registry.loader("casme2")(manual, protocol="casme2_3class", frames="raw")
  assert_same_clips(load_clips("casme2/raw_frames", data_dir), want)

"""experiments.convert and experiments.export (#19.2): each CLI on tiny inputs gives what the
library gives, and the converted file trains / predicts as the torch original."""

import os

import numpy as np

import torch_refs as R
from experiments import convert as convert_cli
from experiments import export as export_cli
from merjax import config as config_lib
from merjax import experiment
from merjax.models import registry
from merjax.models.weights import converters, export, readers

torch = R.torch


def _ststnet_file(tmp_path):
  torch.manual_seed(0)
  module = R.randomize_bn(R.STSTNetTorch())
  path = str(tmp_path / "ststnet.pth")
  torch.save(module.state_dict(), path)
  return module, path


def test_convert_cli_writes_the_librarys_merjax_weights(tmp_path, capsys):
  module, src = _ststnet_file(tmp_path)
  model = registry.build_model({"name": "ststnet"}, 3)
  x = np.random.default_rng(1).uniform(0, 255, (2, 28, 28, 3)).astype(np.float32)
  want, _ = export.load_variables(model, src, {"image": x[:1]}, "reference")
  for suffix in ("npz", "safetensors"):
    dst = str(tmp_path / f"out.{suffix}")
    assert convert_cli.main(["--arch", "ststnet", "--from", src, "--to", dst,
                             "--num-classes", "3"]) == 0
    assert "tensors loaded" in capsys.readouterr().out
    got = readers.read_weights(dst)
    expected = converters.merjax_names(want)
    assert sorted(got) == sorted(expected)
    for name in expected:
      np.testing.assert_array_equal(got[name], expected[name])
    # model.pretrained_format=merjax reads it back, and it predicts as the torch network.
    back, _ = export.load_variables(model, dst, {"image": x[:1]}, "merjax")
    logits = np.asarray(model.apply(back, {"image": x}, train=False)["logits"])
    torch_logits = R.forward_numpy(module, x)
    assert np.abs(logits - torch_logits).max() <= 1e-4 * np.abs(torch_logits).max()


def test_convert_cli_refuses_a_bad_output_and_a_mismatched_file(tmp_path, capsys):
  _, src = _ststnet_file(tmp_path)
  assert convert_cli.main(["--arch", "ststnet", "--from", src, "--to",
                           str(tmp_path / "out.pth"), "--num-classes", "3"]) == 2
  assert "must end in .npz or .safetensors" in capsys.readouterr().err
  assert convert_cli.main(["--arch", "ststnet", "--from", src, "--to",
                           str(tmp_path / "out.npz"), "--num-classes", "5"]) == 2
  assert "shape mismatch fc.weight" in capsys.readouterr().err
  assert not os.path.exists(tmp_path / "out.npz")


def test_export_cli_writes_the_librarys_fold_files(tmp_path, capsys):
  workdir = str(tmp_path / "run")
  config = config_lib.resolve("ststnet", "synthetic", [
      "data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=3",
      "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=9",
      "data.modality=onset_apex_diff", "data.preprocess.size=28",
      "data.preprocess.output_size=28", "data.input_scale=1", "data.cache_dir=",
      "train.epochs=1", "train.batch_size=4", "train.checkpoint_every=0"])
  experiment.run(config, workdir)
  out = str(tmp_path / "cli")
  assert export_cli.main(["--workdir", workdir, "--out", out]) == 0
  printed = capsys.readouterr().out.split()
  want = export.export_run(workdir, str(tmp_path / "lib"))
  assert [os.path.basename(p) for p in printed] == [os.path.basename(p) for p in want]
  assert len(want) == 3
  for got_path, want_path in zip(printed, want):
    got, expected = readers.read_weights(got_path), readers.read_weights(want_path)
    assert sorted(got) == sorted(expected) and "fc.weight" in got
    for name in expected:
      np.testing.assert_array_equal(got[name], expected[name])
  assert export_cli.main(["--workdir", str(tmp_path / "nothing"), "--out", out]) == 2

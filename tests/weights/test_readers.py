"""Weight-file readers: torch.save in both formats (with and without torch), nesting and
DataParallel prefixes, safetensors, npz, and refusal of pickles that would run code."""

import os
import pickle

import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.models.weights import readers
from merjax.models.weights.export import save_safetensors

torch = pytest.importorskip("torch")


def _state():
  torch.manual_seed(0)
  m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, groups=1), torch.nn.BatchNorm2d(4),
                          torch.nn.Linear(5, 2))
  with torch.no_grad():
    m[1].running_mean.normal_()
  sd = dict(m.state_dict())
  sd["strided"] = torch.randn(4, 6).t()                  # a non-contiguous view
  sd["slice"] = torch.arange(10.0)[3:7]                  # a storage offset
  sd["half"] = torch.randn(3).half()
  sd["bf16"] = torch.randn(3).bfloat16()
  sd["long"] = torch.arange(5)
  return sd


def _expected(sd):
  return {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("use_torch", [True, False], ids=["torch", "restricted"])
def test_torch_save_both_formats(tmp_path, legacy, use_torch):
  sd = _state()
  path = str(tmp_path / "w.pth")
  torch.save(sd, path, _use_new_zipfile_serialization=not legacy)
  got = readers.read_weights(path, use_torch=use_torch)
  want = _expected(sd)
  assert sorted(got) == sorted(want)
  for k, v in want.items():
    assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
    np.testing.assert_array_equal(got[k], v)


@pytest.mark.parametrize("use_torch", [True, False], ids=["torch", "restricted"])
@pytest.mark.parametrize("nest", ["state_dict", "model", "module"])
def test_nested_and_data_parallel_state_dicts_are_unwrapped(tmp_path, use_torch, nest):
  sd = {"conv.weight": torch.ones(2, 1, 3, 3), "fc.bias": torch.zeros(2)}
  wrapped = {nest: {f"module.{k}": v for k, v in sd.items()}, "epoch": 7,
             "optimizer": {"lr": 0.1}}
  path = str(tmp_path / "ckpt.pt")
  torch.save(wrapped, path)
  got = readers.read_weights(path, use_torch=use_torch)
  assert sorted(got) == ["conv.weight", "fc.bias"]


def test_safetensors_and_npz(tmp_path):
  want = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
          "b": np.arange(4, dtype=np.int64)}
  st = str(tmp_path / "w.safetensors")
  save_safetensors(want, st, {"note": "x"})
  for got in (readers.read_weights(st), readers.read_safetensors(st)):
    assert sorted(got) == sorted(want)
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])
  from safetensors.numpy import load_file
  np.testing.assert_array_equal(load_file(st)["a.weight"], want["a.weight"])
  npz = str(tmp_path / "w.npz")
  np.savez(npz, **want)
  assert sorted(readers.read_weights(npz)) == sorted(want)


class _Evil:
  """Unpickling this would run a shell command."""

  def __init__(self, marker):
    self.marker = marker

  def __reduce__(self):
    return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("kind", ["pickle", "zip", "legacy"])
@pytest.mark.parametrize("use_torch", [True, False], ids=["torch", "restricted"])
def test_malicious_pickle_is_refused_in_one_line(tmp_path, kind, use_torch):
  marker = tmp_path / "PWNED"
  path = str(tmp_path / "evil.pth")
  payload = {"w": torch.zeros(2), "x": _Evil(str(marker))}
  if kind == "pickle":
    with open(path, "wb") as f:
      pickle.dump({"x": _Evil(str(marker))}, f)
  else:
    torch.save(payload, path, _use_new_zipfile_serialization=kind == "zip")
  with pytest.raises(MerjaxError) as e:
    readers.read_weights(path, use_torch=use_torch)
  message = str(e.value)
  assert "\n" not in message and path in message
  assert "system" in message or "refused" in message
  assert not marker.exists()


def test_whole_module_pickle_is_refused_by_the_restricted_reader(tmp_path):
  path = str(tmp_path / "model.pth")
  torch.save(torch.nn.Linear(2, 3), path, _use_new_zipfile_serialization=False)
  with pytest.raises(MerjaxError, match="state_dict"):
    readers.read_weights(path, use_torch=False)


def test_missing_and_unknown_files(tmp_path):
  with pytest.raises(MerjaxError, match="not found"):
    readers.read_weights(str(tmp_path / "none.pth"))
  odd = tmp_path / "w.txt"
  odd.write_text("hello")
  with pytest.raises(MerjaxError, match="unknown weights format"):
    readers.read_weights(str(odd))

"""tools/bench_modalities.py runs on a tiny batch and its jnp kernels agree with
the OpenCV / numpy references (no timing asserts)."""

import importlib.util
import os

import numpy as np
import pytest

_TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "bench_modalities.py")


@pytest.fixture(scope="module")
def bench():
  pytest.importorskip("cv2")
  spec = importlib.util.spec_from_file_location("bench_modalities", _TOOL)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_tiny_run_prints_every_kernel(bench, capsys):
  assert bench.main(["--clips", "2", "--frames", "4", "--size", "32", "--repeats", "1",
                     "--flow-pairs", "0", "--device-note", "test"]) == 0
  out = capsys.readouterr().out
  for kernel in ("dynamic image", "MESTI", "equalizeHist"):
    assert sum(kernel in line for line in out.splitlines()) == 2, kernel
  assert "bit-exact vs cv2" in out
  assert not any(line.startswith("| TV-L1") for line in out.splitlines())   # --flow-pairs 0


def test_numpy_reference_matches_kernels(bench):
  from merjax.modalities import rank_pooling  # pylint: disable=import-outside-toplevel
  clips_NxTxHxWxC = bench.make_clips(2, 5, 16, 3)
  assert clips_NxTxHxWxC.shape == (2, 5, 16, 16, 3) and clips_NxTxHxWxC.dtype == np.uint8
  ref = bench.numpy_weighted_images(clips_NxTxHxWxC, rank_pooling.mesti_weights(5, 3))
  ours = np.stack([rank_pooling.mesti(c.astype(np.float32) / 255, apex_index=2)
                   for c in clips_NxTxHxWxC])
  np.testing.assert_allclose(ours, ref, atol=1e-5)

"""The cached modality stage."""

import numpy as np
import pytest

from merjax.data.records import Clip
from merjax.errors import MerjaxError
from merjax.modalities import rank_pooling as rp
from merjax.modalities import registry, stage, strain


def make_clips(lengths=(9, 13, 6), size=16, apex_none=False):
  rng = np.random.default_rng(0)
  clips = []
  for i, n in enumerate(lengths):
    frames = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    clips.append(Clip("toy", f"s{i}", f"c{i}", ["a", "b"][i % 2], frames,
                      onset=1, apex=None if apex_none else n // 2, offset=n - 2))
  return clips


def fake_flow_batch(f0_NxHxW, f1_NxHxW, **params):
  """Deterministic stand-in for TV-L1: (f1 - f0, f0 / 255) as (u, v)."""
  a, b = np.asarray(f0_NxHxW, np.float32), np.asarray(f1_NxHxW, np.float32)
  return np.stack([b - a, a / 255.], -1)


@pytest.fixture(autouse=True)
def _fake_flow(monkeypatch):
  from merjax.modalities import flow
  monkeypatch.setattr(flow, "tvl1_flow_batch", fake_flow_batch)


def test_every_modality(capsys):
  clips = make_clips()
  names = sorted(registry.MODALITIES)
  out = stage.stage_inputs(clips, {n: n for n in names}, {"size": 12, "bucket": 16})
  channels = {"flow_onset_apex": 2, "flow_apex_offset": 2, "flow_strain": 3,
              "flow_strain_dfrnet": 3}
  for n in names:
    x = out[n]
    assert x.dtype == np.float32 and np.isfinite(x).all(), n
    assert x.min() >= 0 and x.max() <= 1, n
    want = (3, 8, 12, 12, 3) if n == "frames" else (3, 12, 12, channels.get(n, 3))
    assert x.shape == want, n
  err = capsys.readouterr().err
  assert "PROVISIONAL" in err and "3/3 clips" in err


def _minmax(x):
  return (x - x.min()) / (x.max() - x.min())


def test_matches_direct_kernels():
  clips = make_clips()
  out = stage.stage_inputs(clips, {"m": "mesti", "d": "di_offset", "f": "flow_strain",
                                   "x": "onset_apex_diff"}, {"bucket": 16, "batch_size": 2})
  for i, c in enumerate(clips):
    seg = c.frames[c.onset:c.offset + 1].astype(np.float32) / 255.
    a = c.apex - c.onset
    L = len(seg)
    np.testing.assert_allclose(out["m"][i], _minmax(np.tensordot(rp.mesti_weights(L, a + 1), seg, 1)),
                               atol=1e-5)
    np.testing.assert_allclose(
        out["d"][i], _minmax(np.tensordot(rp.di_phase_weights(L, a + 1)[1], seg, 1)), atol=1e-5)
    np.testing.assert_allclose(out["x"][i], _minmax(np.abs(seg[a] - seg[0])), atol=1e-5)
    gray = np.asarray(stage._gray_u8(c.frames[[c.onset, c.apex]]))
    flow = fake_flow_batch(gray[:1], gray[1:])[0]
    np.testing.assert_allclose(out["f"][i], strain.flow_strain_image(flow), atol=1e-5)


def test_apex_rules_and_temporal_normalisation():
  clips = make_clips(apex_none=True)
  mid = stage.stage_inputs(clips, {"m": "apex"}, {"apex_method": "middle"})["m"]
  for i, c in enumerate(clips):
    np.testing.assert_allclose(mid[i], c.frames[c.apex_or_middle] / 255., atol=1e-6)
  dc = stage.stage_inputs(clips, {"m": "apex"}, {"apex_method": "dc_rois", "bucket": 16})["m"]
  assert dc.shape == mid.shape
  out = stage.stage_inputs(clips, {"f": "frames", "d": "dynamic_image"},
                           {"num_frames": 5, "grayscale": True, "equalize": True, "bucket": 16})
  assert out["f"].shape == (3, 5, 16, 16, 1) and out["d"].shape == (3, 16, 16, 1)


def test_cache_reuse_and_invalidation(tmp_path, monkeypatch):
  calls = []
  real = stage.compute_modalities
  monkeypatch.setattr(stage, "compute_modalities",
                      lambda clips, names, cfg: calls.append(list(names)) or real(clips, names, cfg))
  clips = make_clips()
  pre = {"size": 8}
  run = lambda clips, pre, **kw: stage.stage_inputs(clips, {"a": "mesti", "b": "apex"}, pre,
                                                   cache_dir=str(tmp_path), **kw)
  first = run(clips, pre)
  assert calls == [["mesti", "apex"]]
  again = run(clips, {"size": 8, "batch_size": 1})          # batch size is not in the key
  assert len(calls) == 1
  np.testing.assert_array_equal(first["a"], again["a"])
  run(clips, {"size": 8, "normalize": "minmax_channel"})     # preprocessing changed
  assert len(calls) == 2                                     # whole config is in every key
  relabelled = [Clip(c.dataset, c.subject, c.clip_id, "z", c.frames, c.onset, c.apex, c.offset)
                for c in clips]
  n = len(calls)
  run(relabelled, pre)                                       # labels changed
  assert len(calls) == n + 1
  run(clips, pre, fingerprint="other-root")                  # caller fingerprint changed
  assert len(calls) == n + 2
  monkeypatch.setattr(stage, "CODE_VERSION", "next")         # code changed
  run(clips, pre)
  assert len(calls) == n + 3
  assert len(list(tmp_path.glob("*.npz"))) >= 8


def test_errors():
  clips = make_clips()
  with pytest.raises(MerjaxError, match="unknown modality"):
    stage.stage_inputs(clips, {"x": "nope"}, {})
  with pytest.raises(MerjaxError, match="unknown preprocess"):
    stage.stage_inputs(clips, {"x": "apex"}, {"sise": 3})


def test_output_size_resizes_every_modality_image():
  import numpy as np
  from merjax.data.records import Clip
  from merjax.modalities.stage import stage_inputs
  rng = np.random.default_rng(0)
  clips = [Clip("d", f"s{i}", "c", "x", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8),
                0, 2, 5) for i in range(2)]
  out = stage_inputs(clips, {"image": "onset_apex_diff", "frames": "frames"},
                     {"output_size": 16, "frames_T": 4})
  assert out["image"].shape == (2, 16, 16, 3)
  assert out["frames"].shape == (2, 4, 16, 16, 3)
  full = stage_inputs(clips, {"image": "onset_apex_diff"}, {})["image"]
  # INTER_AREA by 2 = the mean of each 2 x 2 block.
  np.testing.assert_allclose(out["image"][0], full[0].reshape(16, 2, 16, 2, 3).mean((1, 3)),
                             atol=1e-5)

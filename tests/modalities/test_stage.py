"""The cached modality stage."""

import logging

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


def test_every_modality(caplog):
  clips = make_clips()
  names = sorted(registry.MODALITIES)
  with caplog.at_level(logging.INFO, logger="merjax"):
    out = stage.stage_inputs(clips, {n: n for n in names}, {"size": 12, "bucket": 16})
  channels = {"flow_onset_apex": 2, "flow_apex_offset": 2, "flow_strain": 3,
              "flow_strain_dfrnet": 3}
  for n in names:
    x = out[n]
    assert x.dtype == np.float32 and np.isfinite(x).all(), n
    assert x.min() >= 0 and x.max() <= 1, n
    want = (3, 8, 12, 12, 3) if n == "frames" else (3, 12, 12, channels.get(n, 3))
    assert x.shape == want, n
  assert "PROVISIONAL" in caplog.text and "3/3 clips" in caplog.text


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
  with pytest.raises(MerjaxError, match=r"data.preprocess.sise: unknown key; did you mean "
                     r"data.preprocess.size\?"):
    stage.stage_inputs(clips, {"x": "apex"}, {"sise": 3})
  for key, value, problem in [("size", "abc", "'abc' is not a positive integer"),
                              ("size", 0, "0 is not a positive integer"),
                              ("grayscale", "yes", "'yes' is not true/false"),
                              ("normalize", "max", "'max' is not one of")]:
    with pytest.raises(MerjaxError, match=f"data.preprocess.{key}: {problem}"):
      stage.resolve_preprocess({key: value})


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


# --- what each modality needs (#17.4) ------------------------------------------------------

MOTION = ("onset_apex_diff", "flow_onset_apex", "flow_strain", "flow_strain_dfrnet", "mesti",
          "di_onset")


def _clip(n, onset, apex, offset, clip_id="c0", source="sheet.xlsx row 9"):
  frames = np.random.default_rng(1).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
  return Clip("toy", "s9", clip_id, "a", frames, onset, apex, offset, source=source)


@pytest.mark.parametrize("name", MOTION)
def test_onset_equals_apex_is_an_error_naming_clip_and_modality(name):
  clips = make_clips() + [_clip(7, 2, 2, 5)]
  with pytest.raises(MerjaxError) as e:
    stage.stage_inputs(clips, {"image": name}, {})
  msg = str(e.value)
  assert "\n" not in msg
  assert msg.startswith("sheet.xlsx row 9 (toy/s9/c0): modality "
                        f"'{name}' (data.modality) needs an apex after the onset")
  assert "data.onset_equals_apex=drop" in msg


@pytest.mark.parametrize("name,clip", [
    ("apex_offset_diff", _clip(7, 1, 5, 5)), ("flow_apex_offset", _clip(7, 1, 5, 5)),
    ("di_offset", _clip(7, 1, 5, 5)), ("dynamic_image", _clip(7, 3, 3, 3)),
    ("dynamic_image_linear", _clip(7, 3, 3, 3)), ("active_image_provisional", _clip(7, 3, 3, 3)),
    ("affective_motion_provisional", _clip(7, 2, 2, 3))])
def test_other_motion_needs(name, clip):
  with pytest.raises(MerjaxError, match=rf"^sheet.xlsx row 9 \(toy/s9/c0\): modality '{name}' "
                                        r"\(data.modality\) needs (an apex before the offset|"
                                        r"at least \d frames)"):
    stage.stage_inputs(make_clips() + [clip], {"image": name}, {})


def test_still_modalities_take_one_frame_clips():
  clips = [_clip(1, 0, 0, 0, f"c{i}") for i in range(2)]
  for name in ("apex", "onset", "frames", "image"):
    out = stage.stage_inputs(clips, {"x": name}, {})["x"]
    assert out.shape[0] == 2 and out.max() > 0, name


def test_middle_apex_and_resampling_count_too():
  # 2-frame segment, apex_method=middle -> apex (2 - 1) // 2 = 0 = the onset.
  clips = make_clips() + [_clip(6, 1, 2, 2)]
  with pytest.raises(MerjaxError, match=r"needs an apex after the onset, its onset..offset "
                                        r"segment has 2 frames, apex at frame 0 \(middle\)"):
    stage.stage_inputs(clips, {"image": "onset_apex_diff"}, {"apex_method": "middle"})
  # Annotated apex 1 frame after the onset of 30; 3 resampled frames [0, 14, 29] -> apex 0.
  long = _clip(32, 1, 2, 30)
  with pytest.raises(MerjaxError, match="segment has 3 frames, apex at frame 0"):
    stage.stage_inputs([long], {"image": "onset_apex_diff"}, {"num_frames": 3})


def test_manifest_row_points_at_the_image_modality(tmp_path):
  import cv2
  from merjax.data import manifest
  for i in range(2):
    cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), 40 * i + 10, np.uint8))
  (tmp_path / "m.csv").write_text("subject,clip,label,path\ns1,c1,a,0.png\ns2,c2,b,1.png\n")
  clips = manifest.load(str(tmp_path / "m.csv"))
  with pytest.raises(MerjaxError) as e:
    stage.stage_inputs(clips, {"image": "onset_apex_diff"}, {})
  msg = str(e.value)
  assert msg.startswith(f"{tmp_path / 'm.csv'} row 2 (manifest/s1/c1): modality "
                        "'onset_apex_diff' (data.modality) needs at least 2 frames")
  assert msg.endswith("use data.modality=image (and 1 more of 2 clips)")
  with pytest.raises(MerjaxError, match=r"use data.inputs.flow=image"):
    stage.stage_inputs(clips, {"flow": "flow_strain"}, {})
  assert stage.stage_inputs(clips, {"image": "image"}, {})["image"].shape == (2, 8, 8, 3)


def test_drop_policy_leaves_out_and_logs_which():
  clips = make_clips() + [_clip(7, 2, 2, 5, "bad1"), _clip(7, 1, 1, 4, "bad2")]
  logged = []
  keep = stage.screen_clips(clips, {"image": "onset_apex_diff"}, {}, "drop", logged.append)
  assert keep == [0, 1, 2]
  assert logged == ["data.onset_equals_apex=drop: left out 2 of 5 clips that onset_apex_diff "
                    "cannot use: toy/s9/bad1, toy/s9/bad2"]
  out = stage.stage_inputs([clips[i] for i in keep], {"image": "onset_apex_diff"}, {})
  assert out["image"].shape[0] == 3
  # Still modalities keep every clip; "error" raises; an unknown policy names the key.
  assert stage.screen_clips(clips, {"image": "apex"}, {}, "error") == list(range(5))
  with pytest.raises(MerjaxError, match=r"toy/s9/bad1\): .* \(and 1 more of 5 clips\)$"):
    stage.screen_clips(clips, {"image": "onset_apex_diff"}, {}, "error")
  with pytest.raises(MerjaxError,
                     match="^data.onset_equals_apex: 'skip' is not one of error, drop"):
    stage.screen_clips(clips, {"image": "apex"}, {}, "skip")
  with pytest.raises(MerjaxError, match="every other one of the 2 clips: drop would leave none"):
    stage.screen_clips(clips[3:], {"image": "onset_apex_diff"}, {}, "drop")


def test_spotted_apex_at_the_onset_is_an_error(monkeypatch):
  monkeypatch.setattr(stage, "_spot_fn", lambda T: lambda f, L: 0)
  clips = make_clips(apex_none=True)
  with pytest.raises(MerjaxError, match=r"toy/s0/c0: modality 'onset_apex_diff' needs an apex "
                                        r"after the onset, but the apex spotted by "
                                        r"apex_method=dc_rois is frame 0"):
    stage.stage_inputs(clips, {"image": "onset_apex_diff"}, {"apex_method": "dc_rois"})


def test_every_registered_modality_declares_its_needs():
  motion = {n for n, m in registry.MODALITIES.items() if m.needs.any}
  assert motion == set(registry.MODALITIES) - {"apex", "onset", "frames", "image"}


# --- a damaged cache file (#17.12) ---------------------------------------------------------

@pytest.mark.parametrize("damage", [b"", b"not a zip file", "truncate"])
def test_damaged_cache_file_is_logged_deleted_and_recomputed(tmp_path, caplog, damage):
  clips = make_clips()
  first = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path))["a"]
  (path,) = tmp_path.glob("apex-*.npz")
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2] if damage == "truncate" else damage)
  with caplog.at_level(logging.INFO, logger="merjax"):
    again = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path))["a"]
  np.testing.assert_array_equal(first, again)
  err = caplog.text
  assert f"[stage] {path}: damaged cache file (" in err and "deleted, recomputing" in err
  assert path.read_bytes() != damage and len(path.read_bytes()) > 100   # rewritten whole


def test_input_scale_is_applied_once_in_the_stage(tmp_path):
  """data.input_scale multiplies the staged arrays once; the cache holds unscaled ones."""
  clips = make_clips()
  plain = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path))["a"]
  scaled = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path),
                              input_scale=255.0)["a"]
  np.testing.assert_allclose(scaled, plain * 255.0, rtol=1e-6)
  again = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path))["a"]
  np.testing.assert_array_equal(again, plain)


def test_bgr_channel_order_reverses_the_staged_channels(tmp_path):
  """data.channel_order=bgr reverses the channels once, after the (RGB) cache."""
  clips = make_clips()
  rgb = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path))["a"]
  bgr = stage.stage_inputs(clips, {"a": "apex"}, {}, cache_dir=str(tmp_path),
                           channel_order="bgr", input_scale=2.0)["a"]
  np.testing.assert_allclose(bgr, 2.0 * rgb[..., ::-1], rtol=1e-6)

"""The stage's face step on a SAMM-layout copy built from a real face."""

import logging
import os

import numpy as np
import pytest

from merjax.data import samm, testing
from merjax.errors import MerjaxError
from merjax.faces import pipeline
from merjax.faces import testing as face_testing
from merjax.modalities import stage

ALIGN = {"face_pipeline": "align", "size": 64, "grayscale": True}
NO_FACE = r"samm/007/007_3_1 \(SAMM_Micro_FACS_Codes_v2.xlsx row 17\) frame 0 \(.*007_00300.jpg\)"


@pytest.fixture(scope="module")
def samm_faces(tmp_path_factory):
  """(root, clips): 4 SAMM clips of the astronaut's face, 007_3_1 without a face."""
  root = str(tmp_path_factory.mktemp("samm_faces"))
  face_testing.make_samm_faces(root, no_face=("007_3_1",))
  return root, samm.load(root)


@pytest.fixture(autouse=True)
def _fresh_memo():
  pipeline.clear_memo()
  yield
  pipeline.clear_memo()


def test_raw_copy_to_aligned_modalities_with_progress_and_cache(samm_faces, tmp_path, caplog,
                                                                monkeypatch):
  root, clips = samm_faces
  cache = str(tmp_path / "cache")
  pre = {**ALIGN, "face_policy": "skip"}
  inputs = {"image": "onset_apex_diff", "frames": "frames"}
  with caplog.at_level(logging.INFO, logger="merjax"):
    keep = stage.screen_clips(clips, inputs, pre, cache_dir=cache)
    kept = [clips[i] for i in keep]
    out = stage.stage_inputs(kept, inputs, pre, cache_dir=cache)
  assert [c.clip_id for c in kept] == ["006_1_2", "006_1_3", "007_5_3"]
  warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
  assert any("face_policy=skip: left out 1 of 4 clips" in w and "007_3_1" in w
             and "007_00300.jpg" in w for w in warning)
  assert "[faces] align: 4/4 clips (4 detected, 1 without a face)" in caplog.text
  assert out["image"].shape == (3, 64, 64, 1) and out["frames"].shape == (3, 8, 64, 64, 1)
  assert np.isfinite(out["image"]).all() and out["image"].max() > 0
  assert len(os.listdir(os.path.join(cache, "faces"))) == 4
  # The brow raise shows in the upper face of the onset->apex difference.
  diff = out["image"][0, ..., 0]
  assert diff[8:32].mean() > diff[40:].mean()
  # A new process (memo cleared) reads the face cache: nothing is detected again.
  pipeline.clear_memo()
  monkeypatch.setattr(pipeline, "compute_alignment", lambda *a: pytest.fail("detected again"))
  again = stage.stage_inputs(kept, {"image": "apex"}, pre, cache_dir=cache)
  assert again["image"].shape == (3, 64, 64, 1)


def test_policies_name_the_clip_and_frame(samm_faces, caplog):
  _, clips = samm_faces
  with pytest.raises(MerjaxError, match=NO_FACE + ": no face found .*face_policy=skip leaves"):
    stage.stage_inputs(clips, {"image": "apex"}, ALIGN)            # fail (default)
  with pytest.raises(MerjaxError, match=NO_FACE + ".*screen_clips first"):
    stage.stage_inputs(clips, {"image": "apex"}, {**ALIGN, "face_policy": "skip"})
  with caplog.at_level(logging.WARNING, logger="merjax"):
    out = stage.stage_inputs(clips, {"image": "apex"}, {**ALIGN, "face_policy": "whole_frame"})
  assert out["image"].shape == (4, 64, 64, 1)
  assert "face_policy=whole_frame: using the whole frame" in caplog.text and "007_3_1" in caplog.text
  only_none = [c for c in clips if c.clip_id == "007_3_1"]
  with pytest.raises(MerjaxError, match="skip would leave none"):
    stage.screen_clips(only_none, {"image": "apex"}, {**ALIGN, "face_policy": "skip"})


def test_fdp_release_mean_reference_and_landmark_rois(samm_faces):
  _, clips = samm_faces
  face = [c for c in clips if c.clip_id != "007_3_1"][:2]
  fdp = stage.stage_inputs(face[:1], {"frames": "frames"},
                           {"face_pipeline": "fdp_release", "grayscale": True,
                            "num_frames": 4})
  assert fdp["frames"].shape == (1, 4, 64, 64, 1)
  r = pipeline.align_clips(face[:1], stage.resolve_preprocess({"face_pipeline": "fdp_release"}))
  assert r[0].transform.shape == (9, 2, 3) and r[0].size == 64
  mean = stage.stage_inputs(face, {"image": "onset_apex_diff"},
                            {**ALIGN, "face_reference": "mean", "apex_method": "dc_rois_always",
                             "apex_rois": "landmarks"})
  assert mean["image"].shape == (2, 64, 64, 1)
  lm = stage.face_landmarks(face, {**ALIGN, "output_size": 32})
  assert lm.shape == (2, 68, 2) and lm.min() > 0 and lm.max() < 32


def test_cropped_release_is_not_detected(tmp_path, monkeypatch):
  clips = _casme2_clips(tmp_path)
  assert all(pipeline.ships_cropped_faces(c) for c in clips)
  monkeypatch.setattr(pipeline.detector_lib, "get_detector",
                      lambda name="dlib": pytest.fail("detector built"))
  monkeypatch.setattr(pipeline, "face_options", lambda cfg: {})
  out = stage.stage_inputs(clips, {"image": "apex"}, {**ALIGN, "size": None, "face_size": 6})
  assert out["image"].shape == (len(clips), 6, 6, 1)


def _casme2_clips(tmp_path):
  from merjax.data import casme2
  root = testing.make_casme2(str(tmp_path), rows=testing.CASME2_ROWS[:2])
  return casme2.load(root)


def test_face_keys_are_checked_and_keyed(samm_faces):
  _, clips = samm_faces
  bad = [({"face_pipeline": "dlib"}, "face_pipeline"), ({"face_border": 300}, "face_border"),
         ({"face_crop": True, "face_pipeline": "align"}, "face_crop"),
         ({"face_pipeline": "fdp_release", "face_detector": "mediapipe"}, "face_detector"),
         ({"apex_rois": "landmarks"}, "apex_rois"),
         ({"face_pipeline": "align", "face_size": 64, "face_crop_size": 72}, "face_crop_size"),
         ({"face_policy": "ignore"}, "face_policy"), ({"face_size": 0}, "face_size")]
  for pre, key in bad:
    with pytest.raises(MerjaxError, match=f"data.preprocess.{key}"):
      stage.resolve_preprocess(pre)
  # The face keys at their defaults leave the modality cache key as it was.
  cfg = stage.resolve_preprocess({})
  old = {k: v for k, v in cfg.items() if k not in stage._FACE_KEYS_NEW}
  assert stage.cache_key("fp", "apex", cfg) == stage.cache_key("fp", "apex", old)
  # The face step's key follows the options and the detector's version.
  a = pipeline.face_options(stage.resolve_preprocess(ALIGN))
  b = pipeline.face_options(stage.resolve_preprocess({**ALIGN, "face_margin": 0.2}))
  assert a["detector_version"].startswith("dlib-") and "shape_predictor_68" in a["detector_version"]
  assert pipeline.clip_key(clips[0], a) != pipeline.clip_key(clips[0], b)
  c = pipeline.face_options(stage.resolve_preprocess({**ALIGN, "face_policy": "skip"}))
  assert pipeline.clip_key(clips[0], a) == pipeline.clip_key(clips[0], c)


def test_synthetic_clips_count_as_cropped(monkeypatch):
  from merjax.data import synthetic
  clips = synthetic.load(num_subjects=2, size=32)[:2]
  assert all(pipeline.ships_cropped_faces(c) for c in clips)
  monkeypatch.setattr(pipeline.detector_lib, "get_detector",
                      lambda name="dlib": pytest.fail("detector built"))
  monkeypatch.setattr(pipeline, "face_options", lambda cfg: {})
  out = stage.stage_inputs(clips, {"image": "apex"}, {**ALIGN, "size": 16})
  assert out["image"].shape == (2, 16, 16, 1)


def test_bench_tool_runs(capsys):
  import importlib.util
  path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "bench_faces.py")
  spec = importlib.util.spec_from_file_location("bench_faces", path)
  bench = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(bench)
  assert bench.main(["--repeats", "1", "--clip-frames", "2"]) == 0
  out = capsys.readouterr().out
  assert out.count("| detect (dlib HOG + 68 points) |") == 2 and "| align clip (2 frames" in out


def test_show_faces_writes_the_png(tmp_path):
  from experiments import show_faces
  root, out = str(tmp_path / "copy"), str(tmp_path / "out")
  assert show_faces.main(["--make-fixture", root]) == 0
  assert show_faces.main(["--dataset", "samm", "--root", root, "--out", out, "--clips", "1",
                          f"data.cache_dir={tmp_path / 'cache'}",
                          "data.preprocess.face_policy=skip", "data.preprocess.size=48"]) == 0
  assert os.path.getsize(os.path.join(out, "faces.png")) > 10_000
  # fail (the default) is a one-line error naming the clip: exit status 2
  assert show_faces.main(["--dataset", "samm", "--root", root, "--out", out,
                          f"data.cache_dir={tmp_path / 'cache'}"]) == 2

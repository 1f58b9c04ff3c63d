"""SMIC-HS loader: the cropped folder release and the extended release."""

import os
import shutil

import pytest

from merjax.data import smic, testing
from merjax.errors import MerjaxError


def test_cropped_release(tmp_path):
  root = testing.make_smic(str(tmp_path))
  clips = smic.load(root)
  assert len(clips) == sum(len(v) for v in testing.SMIC_CLIPS.values())
  c = clips[0]
  assert (c.subject, c.clip_id, c.label, c.apex) == ("s01", "s01_ne_01", "negative", None)
  assert "s1_ne_01" in c.frames[0] and c.frames[0].endswith(".bmp")
  assert (c.onset, c.offset) == (0, 3)
  assert c.read_frames().shape == (4, 8, 8, 3)
  assert all("non_micro" not in c.frames[0] for c in clips)
  assert smic.load(root, protocol="smic_3class") == clips


def test_raw_release(tmp_path):
  root = testing.make_smic(str(tmp_path), raw=True)
  assert os.path.basename(smic.load(root)[0].frames[0]).startswith("image")


def test_unknown_emotion_folder(tmp_path):
  root = testing.make_smic(str(tmp_path))
  testing.write_frame(os.path.join(root, "SMIC_all_cropped", "HS", "s2", "micro", "happy",
                                   "s2_ha_01", "reg_image000001.bmp"))
  with pytest.raises(MerjaxError, match="unknown emotion folder 'happy'"):
    smic.load(root)


def test_empty_clip_folder(tmp_path):
  root = testing.make_smic(str(tmp_path))
  os.makedirs(os.path.join(root, "SMIC_all_cropped", "HS", "s3", "micro", "negative", "s3_ne_09"))
  with pytest.raises(MerjaxError, match="s3_ne_09: no frame files"):
    smic.load(root)


def test_extended_release(tmp_path):
  root = testing.make_smic_extended(str(tmp_path))
  clips = smic.load(root)
  assert [c.clip_id for c in clips] == ["s01_ne_01", "s01_po_01", "s02_sur_01"]
  c = clips[0]
  assert (c.onset, c.apex, c.offset, c.num_frames) == (2, 19, 32, 35)


def test_extended_without_apex(tmp_path):
  root = testing.make_smic_extended(str(tmp_path), apex=False)
  assert smic.load(root)[0].apex is None


def test_extended_s1_naming(tmp_path):
  rows = [("s1", "s1_ne_01", 10, 12, 14, "negative"), (2, "s02_po_01", 10, 11, 12, "positive")]
  root = testing.make_smic_extended(str(tmp_path), rows)
  clips = smic.load(root)
  assert [(c.subject, c.clip_id) for c in clips] == [("s01", "s01_ne_01"), ("s02", "s02_po_01")]


def test_extended_known_missing_clip_is_dropped(tmp_path):
  rows = testing.SMIC_E_ROWS + ((3, "s3_ne_03", 10, 12, 14, "negative"),)
  root = testing.make_smic_extended(str(tmp_path), rows)
  shutil.rmtree(os.path.join(root, "SMIC-HS-E", "3"))
  problems = []
  assert [c.clip_id for c in smic.load(root, problems=problems)] == [
      "s01_ne_01", "s01_po_01", "s02_sur_01"]
  assert problems == [{"where": "SMIC-HS-E_annotation_2019.xlsx row 5 (s03_ne_03)",
                       "what": "clip folder missing (known absent from the release)",
                       "action": "row dropped"}]
  rows = testing.SMIC_E_ROWS + ((3, "s3_ne_04", 10, 12, 14, "negative"),)
  root = testing.make_smic_extended(str(tmp_path / "b"), rows)
  shutil.rmtree(os.path.join(root, "SMIC-HS-E", "3"))
  with pytest.raises(MerjaxError, match="row 5: no clip folder named s03_ne_04"):
    smic.load(root)


def test_extended_release_deep_under_root(tmp_path):
  # SMIC/SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01: clip folders 5 levels down.
  testing.make_smic_extended(str(tmp_path / "SMIC" / "SMIC-E_raw image" / "HS_long"))
  assert len(smic.load(str(tmp_path))) == len(testing.SMIC_E_ROWS)

"""CASME II loader on fixture copies in the real format."""

import os

import pytest

from merjax.data import casme2, testing
from merjax.data.labels import get_protocol
from merjax.data.protocols import loso_folds
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError


@pytest.fixture
def root(tmp_path):
  return testing.make_casme2(str(tmp_path / "casme2"))


def test_loads_every_row_with_zero_based_indices(root):
  clips = casme2.load(root)
  assert len(clips) == len(testing.CASME2_ROWS)
  c = clips[0]
  assert (c.subject, c.clip_id, c.label) == ("sub01", "EP02_01f", "happiness")
  assert os.path.basename(c.frames[0]) == "reg_img46.jpg"
  assert (c.onset, c.apex, c.offset) == (0, 59 - 46, 62 - 46)
  assert c.read_frames().shape == (17, 8, 8, 3)
  assert c.action_units == ("AU12",)


def test_raw_tree(tmp_path):
  root = testing.make_casme2(str(tmp_path), raw=True)
  clips = casme2.load(root, frames="raw")
  assert os.path.basename(clips[0].frames[0]) == "img46.jpg"


def test_slash_apex_policy(root):
  problems = []
  clips = {c.clip_id: c for c in casme2.load(root, problems=problems)}
  assert clips["EP12_01f"].apex is None
  assert clips["EP12_01f"].apex_or_middle == 3
  assert len(problems) == 1 and "row 8" in problems[0]["where"] and "'/'" in problems[0]["what"]


def test_stray_files_ignored(root):
  open(os.path.join(root, "Cropped", "sub01", "Desktop - Shortcut.lnk"), "w").close()
  open(os.path.join(root, "Cropped", "sub01", "EP02_01f", "Thumbs.db"), "w").close()
  assert len(casme2.load(root)) == len(testing.CASME2_ROWS)


def test_2019_sheet_and_choice(tmp_path):
  root = testing.make_casme2(str(tmp_path), name="CASME2-coding-20190701.xlsx")
  assert len(casme2.load(root)) == len(testing.CASME2_ROWS)
  testing.make_casme2(root, testing.CASME2_ROWS[:3], name="CASME2-coding-20140508.xlsx")
  assert len(casme2.load(root)) == 3  # the 2014 sheet is preferred
  path = os.path.join(root, "CASME2-coding-20190701.xlsx")
  assert len(casme2.load(root, annotation=path)) == len(testing.CASME2_ROWS)


def test_five_class_and_three_class_loso_skips(root):
  clips = casme2.load(root)
  five = casme2.load(root, protocol="casme2_5class")
  assert {c.label for c in five} <= {"happiness", "disgust", "repression", "surprise", "others"}
  kept, y, dropped = get_protocol("casme2_3class").apply(clips)
  folds = loso_folds(subjects_of(kept), subjects_of(clips))
  assert folds.skipped == ("casme2/sub05", "casme2/sub10")
  assert dropped == {"others": 3}


def _message(excinfo):
  text = str(excinfo.value)
  assert "\n" not in text
  return text


def test_missing_frame_file(root):
  os.remove(os.path.join(root, "Cropped", "sub02", "EP09_01", "reg_img7.jpg"))
  with pytest.raises(MerjaxError) as e:
    casme2.load(root)
  assert "row 4" in _message(e) and "7" in _message(e) and "missing" in _message(e)


def test_missing_clip_folder(root):
  import shutil
  shutil.rmtree(os.path.join(root, "Cropped", "sub03", "EP01_2"))
  with pytest.raises(MerjaxError, match=r"CASME2-coding-20140508.xlsx row 6: clip folder .*EP01_2 missing"):
    casme2.load(root)


def test_apex_outside_is_an_error(tmp_path):
  rows = [(1, "EP02_01f", 10, 30, 20, "12", "happiness")] + list(testing.CASME2_ROWS[2:4])
  root = testing.make_casme2(str(tmp_path), rows)
  with pytest.raises(MerjaxError, match="row 2: apex 30 outside onset..offset 10..20"):
    casme2.load(root)


def test_unknown_label(tmp_path):
  rows = [(1, "EP02_01f", 10, 12, 20, "12", "joy")] + list(testing.CASME2_ROWS[2:4])
  root = testing.make_casme2(str(tmp_path), rows)
  with pytest.raises(MerjaxError, match="row 2: unknown Estimated Emotion 'joy'"):
    casme2.load(root)


def test_missing_column(tmp_path):
  header = tuple(h for h in testing.CASME2_HEADER if h != "ApexFrame") + (None,)
  root = testing.make_casme2(str(tmp_path), testing.CASME2_ROWS[:2], header=header)
  with pytest.raises(MerjaxError, match="row 1: missing column.*ApexFrame"):
    casme2.load(root)


def test_wrong_header_row(tmp_path):
  root = testing.make_casme2(str(tmp_path), testing.CASME2_ROWS[:2], header_row=3)
  with pytest.raises(MerjaxError, match="header expected on row 1, found on row 3"):
    casme2.load(root)


def test_duplicate_rows(tmp_path):
  rows = list(testing.CASME2_ROWS[:2]) + [testing.CASME2_ROWS[0]]
  root = testing.make_casme2(str(tmp_path), rows)
  with pytest.raises(MerjaxError, match="row 4: duplicate clip sub01/EP02_01f"):
    casme2.load(root)


def test_no_annotation(tmp_path):
  with pytest.raises(MerjaxError, match="no CASME II annotation file"):
    casme2.load(str(tmp_path))


def test_collect_errors_lists_every_problem(root):
  os.remove(os.path.join(root, "Cropped", "sub02", "EP09_01", "reg_img7.jpg"))
  problems = []
  clips = casme2.load(root, problems=problems, collect_errors=True)
  assert len(clips) == len(testing.CASME2_ROWS) - 1
  assert [p["action"] for p in problems].count("error: not usable") == 1

"""CASME (I) loader on fixture copies: layout, known-bad rows, check_data."""

import json
import os

import pytest

from experiments import check_data
from merjax.data import casme, registry, testing
from merjax.errors import MerjaxError

SHEET = "CASME-coding-20130523.xlsx"


def test_loads_rows_and_padded_frame_names(tmp_path):
  problems = []
  clips = casme.load(testing.make_casme(str(tmp_path)), problems=problems)
  assert [c.key for c in clips] == ["casme/sub01/EP03_2", "casme/sub01/EP07_1",
                                    "casme/sub02/EP08_1", "casme/sub02/EP12_2",
                                    "casme/sub03/EP05_5"]
  c = clips[0]
  assert os.path.basename(c.frames[0]) == "reg_EP03_2-20.jpg"
  assert (c.onset, c.apex, c.offset, c.num_frames) == (0, 4, 8, 9)
  assert clips[1].action_units == ("AU4", "AU9") and clips[4].action_units == ("L10",)
  tense = clips[4]       # frame numbers written 007, 008, ... in the file names
  assert os.path.basename(tense.frames[0]) == "reg_EP05_5-007.jpg"
  assert (tense.label, tense.apex, tense.offset) == ("tense", 3, 6)
  assert clips[3].apex is None
  assert problems == [{"where": f"{SHEET} row 5 (sub02/EP12_2)",
                       "what": "ApexF1 '/' is not a frame number",
                       "action": "apex set to unknown (middle of onset..offset used)"}]


def test_raw_tree(tmp_path):
  root = testing.make_casme(str(tmp_path), raw=True)
  clips = casme.load(root, frames="raw")
  assert os.path.basename(clips[0].frames[0]) == "EP03_2-20.jpg"
  assert clips[0].read_frames().shape == (9, 8, 8, 3)


def _known_bad(tmp_path):
  """Excel row 44 as written starts before its frame files (MEB: 101/110/119);
  Excel row 56 (MEB: offset 40) is usable as written."""
  rows = testing.pad_to(testing.CASME_ROWS, 44) + [(4, "EP02_1", 99, 105, 119, "4", "disgust")]
  rows = testing.pad_to(rows, 56) + [(4, "EP04_3", 30, 33, 38, "4", "disgust")]
  frames = {"EP02_1": range(101, 120), "EP04_3": range(30, 41)}
  return testing.make_casme(str(tmp_path), rows, frames=frames)


def test_known_bad_rows_get_mebs_numbers_only_when_unusable(tmp_path):
  root = _known_bad(tmp_path)
  problems = []
  clips = {c.clip_id: c for c in casme.load(root, problems=problems)}
  fixed = clips["EP02_1"]
  assert (fixed.onset, fixed.apex, fixed.offset, fixed.num_frames) == (0, 9, 18, 19)
  kept = clips["EP04_3"]                  # as written: offset 38 of the folder's 30..40
  assert (kept.onset, kept.apex, kept.offset, kept.num_frames) == (0, 3, 8, 11)
  (p,) = [p for p in problems if "EP02_1" in p["where"]]
  assert p["where"] == f"{SHEET} row 44 (sub04/EP02_1)"
  assert p["what"].endswith("frame files missing for frame number(s) 99..100 (2 files) "
                            "(folder has 101..119)")
  assert p["action"] == "onset set to 101, apex set to 110, offset set to 119 (MEB's correction)"
  assert not [p for p in problems if "EP04_3" in p["where"]]
  with pytest.raises(MerjaxError, match=rf"^{SHEET} row 44: .*frame number\(s\) 99..100"):
    casme.load(root, row_fixes="none")


def test_a_correction_that_does_not_fit_names_both(tmp_path):
  rows = testing.pad_to(testing.CASME_ROWS, 45) + [(4, "EP02_5", 50, 52, 54, "4", "disgust")]
  root = testing.make_casme(str(tmp_path), rows, frames={"EP02_5": range(51, 55)})
  with pytest.raises(MerjaxError) as e:
    casme.load(root)
  msg = str(e.value)
  assert msg.startswith(f"{SHEET} row 45: ") and "frame number(s) 50 " in msg
  assert "the known correction (onset set to 57, apex set to 65, offset set to 74) does not " \
         "fit either: " in msg


def test_check_data_and_registry(tmp_path, capsys):
  root = testing.make_casme(str(tmp_path))
  assert check_data.main(["--dataset", "casme", "--root", root, "--json"]) == 0
  result = json.loads(capsys.readouterr().out)
  assert (result["samples"], result["subjects"]) == (5, 3)
  assert result["classes"] == {"disgust": 1, "happiness": 1, "repression": 1, "surprise": 1,
                               "tense": 1}
  assert [p["action"] for p in result["problems"]] == [
      "apex set to unknown (middle of onset..offset used)"]
  with pytest.raises(MerjaxError, match=r"^data.options.row_fixes: must be meb or none, got 'x'$"):
    registry.load_clips({"dataset": "casme", "root": root, "options": {"row_fixes": "x"}})
  with pytest.raises(MerjaxError, match="did you mean data.options.annotation"):
    registry.check_options({"dataset": "casme", "options": {"anotation": 1}})

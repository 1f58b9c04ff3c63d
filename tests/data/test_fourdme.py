"""4DME loader on fixture copies: layout, the swapped rows, check_data."""

import json
import os

import pytest

from experiments import check_data
from merjax.data import fourdme, testing
from merjax.errors import MerjaxError

SHEET = "4DME_Labelling_Micro_release v1.xlsx"


def test_loads_rows(tmp_path):
  problems = []
  clips = fourdme.load(testing.make_fourdme(str(tmp_path)), problems=problems)
  assert [c.key for c in clips] == [
      "fourdme/S01/S01_1st_001_01_1", "fourdme/S01/S01_2nd_003_02_1",
      "fourdme/S02/S02_1st_002_01_1", "fourdme/S02/S02_1st_004_01_2",
      "fourdme/S03/S03_2nd_001_01_1"]
  c = clips[0]
  assert os.path.basename(c.frames[0]) == "S01_1st_001_01_1-00120.jpg"
  assert (c.label, c.onset, c.apex, c.offset, c.num_frames) == ("negative", 0, 6, 11, 12)
  assert c.action_units == ("AU4(k)", "L7")               # as written, (k) kept
  assert clips[2].action_units == ("AUR2", "AU12(k)", "AU45")
  assert (clips[3].onset, clips[3].apex) == (0, 0)         # onset == apex: kept
  assert clips[4].label == "surprise+positive" and clips[4].apex is None
  assert problems == [{"where": f"{SHEET} row 6 (S03/S03_2nd_001_01_1)",
                       "what": "apex 90 outside onset..offset 70..78",
                       "action": "apex set to unknown (middle of onset..offset used)"}]
  assert c.read_frames().shape == (12, 8, 8, 3)


def test_rows_146_and_147_are_swapped_from_aus_on(tmp_path):
  rows = testing.pad_to(testing.FOURDME_ROWS, 146) + [
      ("S04", "S04_1st_001_01_1", 10, 12, 14, "AU1+AU2", "Negative"),
      ("S04", "S04_1st_002_01_1", 20, 22, 24, "AU12", "Positive")]
  root = testing.make_fourdme(str(tmp_path), rows)
  problems = []
  clips = {c.clip_id: c for c in fourdme.load(root, problems=problems)}
  first, second = clips["S04_1st_001_01_1"], clips["S04_1st_002_01_1"]
  assert (first.action_units, first.label) == (("AU12",), "positive")
  assert (second.action_units, second.label) == (("AU1", "AU2"), "negative")
  assert (first.onset, first.apex, first.offset) == (0, 2, 4)   # frame numbers stay
  (p,) = [p for p in problems if "146" in p["where"]]
  assert p["where"] == f"{SHEET} rows 146 and 147" and p["action"].startswith("swapped")
  as_written = {c.clip_id: c for c in fourdme.load(root, row_fixes="none")}
  assert as_written["S04_1st_001_01_1"].label == "negative"


def test_color_tree_and_missing_frames(tmp_path):
  root = testing.make_fourdme(str(tmp_path), tree="color_micro")
  assert len(fourdme.load(root, frames="color")) == 5
  os.remove(os.path.join(root, "color_micro", "S01", "S01_2nd_003_02_1",
                         "S01_2nd_003_02_1-00031.jpg"))
  with pytest.raises(MerjaxError, match=rf"^{SHEET} row 3: .*frame number\(s\) 31 "):
    fourdme.load(root, frames="color")
  with pytest.raises(MerjaxError, match="data.options.frames: fourdme frames must be"):
    fourdme.load(root, frames="rgb")


def test_check_data(tmp_path, capsys):
  root = testing.make_fourdme(str(tmp_path))
  assert check_data.main(["--dataset", "fourdme", "--root", root, "--json"]) == 0
  result = json.loads(capsys.readouterr().out)
  assert (result["samples"], result["subjects"]) == (5, 3)
  assert result["classes"] == {"negative": 1, "positive": 1, "repression": 1, "surprise": 1,
                               "surprise+positive": 1}
  assert not [p for p in result["problems"] if p["action"] == "error: not usable"]

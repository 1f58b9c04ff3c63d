"""MMEW loader on a fixture copy."""

import shutil

import pytest

from merjax.data import mmew, testing
from merjax.errors import MerjaxError


def test_load(tmp_path):
  root = testing.make_mmew(str(tmp_path))
  clips = mmew.load(root)
  assert [(c.subject, c.clip_id, c.label) for c in clips][0] == ("S01", "S01-01-001", "happiness")
  assert (clips[0].onset, clips[0].apex, clips[0].offset) == (0, 4, 8)
  assert len(mmew.load(root, protocol="mmew_6class")) == 4


def test_missing_clip(tmp_path):
  root = testing.make_mmew(str(tmp_path))
  shutil.rmtree(tmp_path / "MMEW" / "Micro_Expression" / "others" / "S02-01-001")
  with pytest.raises(MerjaxError, match="MMEW_Micro_Exp.xlsx row 4: no clip folder S02-01-001"):
    mmew.load(root)


def test_known_bad_row_gets_mebs_apex_and_offset(tmp_path):
  # Excel row 35 (MEB's pandas row 33: apex 40, offset 75) as written has its apex
  # after its offset; the frames run to MEB's offset.
  rows = testing.pad_to(testing.MMEW_ROWS, 35) + [("S03", "S03-01-002", 1, 90, 60, "surprise")]
  root = testing.make_mmew(str(tmp_path), rows)
  for k in range(61, 76):
    testing.write_frame(str(tmp_path / "MMEW" / "Micro_Expression" / "surprise" / "S03-01-002"
                             / f"{k}.jpg"), k)
  problems = []
  c = mmew.load(root, problems=problems)[-1]
  assert (c.clip_id, c.onset, c.apex, c.offset, c.num_frames) == ("S03-01-002", 0, 39, 74, 75)
  assert problems == [{"where": "MMEW_Micro_Exp.xlsx row 35 (S03-01-002)",
                       "what": "apex 90 outside onset..offset 1..60",
                       "action": "apex set to 40, offset set to 75 (MEB's correction)"}]


def test_other_apex_outside_is_set_to_unknown(tmp_path):
  rows = testing.MMEW_ROWS + (("S03", "S03-02-001", 1, 12, 6, "fear"),)
  problems = []
  clips = mmew.load(testing.make_mmew(str(tmp_path), rows), problems=problems)
  assert len(clips) == 5 and clips[-1].apex is None and clips[-1].offset == 5
  assert problems == [{"where": "MMEW_Micro_Exp.xlsx row 6 (S03-02-001)",
                       "what": "apex 12 outside onset..offset 1..6",
                       "action": "apex set to unknown (middle of onset..offset used)"}]


def test_known_bad_row_usable_as_written_is_kept(tmp_path):
  rows = testing.pad_to(testing.MMEW_ROWS, 37) + [("S03", "S03-01-004", 1, 3, 6, "fear")]
  problems = []
  c = mmew.load(testing.make_mmew(str(tmp_path), rows), problems=problems)[-1]
  assert (c.apex, c.offset) == (2, 5) and problems == []

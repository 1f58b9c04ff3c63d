"""CAS(ME)^2 loader on a fixture copy."""

import pytest

from merjax.data import casme_sq, testing
from merjax.errors import MerjaxError


def test_micro_only_and_offset_zero(tmp_path):
  root = testing.make_casme_sq(str(tmp_path))
  problems = []
  clips = casme_sq.load(root, problems=problems)
  assert [c.key for c in clips] == ["casme_sq/s15/disgust1_1", "casme_sq/s15/anger1_2",
                                    "casme_sq/s16/disgust1_1", "casme_sq/s16/anger1_1"]
  c = clips[0]
  assert "15_0102disgustingteeth/img100.jpg" in c.frames[0]
  assert (c.onset, c.apex, c.offset, c.num_frames) == (0, 4, 10, 11)
  assert (clips[1].apex, clips[1].offset) == (3, 3)
  assert problems[0]["what"] == "offset 0 (unknown)" and "row 2" in problems[0]["where"]
  assert len(casme_sq.load(root, protocol="casme_sq_4class")) == 4


def test_unknown_participant(tmp_path):
  rows = testing.CASME_SQ_ROWS[:1] + ((3, "anger1_1", 10, 12, 14, "surprise", "micro-expression"),)
  root = testing.make_casme_sq(str(tmp_path), testing.CASME_SQ_ROWS[:1])
  testing.write_xlsx(str(tmp_path / "CAS(ME)^2code_final(Updated).xlsx"), {
      "CASMEcode_final": [(p, n, on, ap, off, "4", e, k) for p, n, on, ap, off, e, k in rows],
      "naming rule1": [(1, "s15")], "naming rule2": [("0101", "anger1"), ("0102", "disgust1")]})
  with pytest.raises(MerjaxError, match="row 2: participant 3 not in sheet 'naming rule1'"):
    casme_sq.load(root)


def test_naming_rule1_participant_is_the_last_number_and_apex_zero(tmp_path):
  # Real `naming rule1` rows read (15, s15, 1): the first number is the folder's.
  rows = testing.CASME_SQ_ROWS[:1] + ((2, "anger1_1", 10, 0, 14, "surprise", "micro-expression"),)
  root = testing.make_casme_sq(str(tmp_path), rows)
  problems = []
  clips = casme_sq.load(root, problems=problems)
  assert [c.subject for c in clips] == ["s15", "s16"]
  assert clips[1].apex is None and (clips[1].onset, clips[1].offset) == (0, 4)
  assert problems == [{"where": "CAS(ME)^2code_final(Updated).xlsx row 2 (s16/anger1_1)",
                       "what": "apex 0 (unknown)",
                       "action": "apex set to unknown (middle of onset..offset used)"}]

"""CAS(ME)^3 Part A loader on a fixture copy."""

import os

import pytest

from merjax.data import casme3, registry, testing
from merjax.errors import MerjaxError


@pytest.fixture
def root(tmp_path):
  return testing.make_casme3(str(tmp_path))


def test_policies(root):
  problems = []
  clips = {c.clip_id if c.subject == "spNO.1" else "2/" + c.clip_id: c
           for c in casme3.load(root, problems=problems)}
  assert sorted(clips) == ["2/c", "2/j", "a", "b", "b2", "b3"]
  assert "/b/color/300.jpg" in clips["b2"].frames[0]
  assert (clips["b"].onset, clips["b"].apex, clips["b"].offset) == (0, 9, 14)
  assert clips["b3"].apex is None and clips["2/j"].apex is None
  actions = [p["action"] for p in problems]
  assert actions.count("row dropped") == 1 and "clip id b2" in actions


def test_missing_frames(root):
  os.remove(os.path.join(root, "part_A", "data", "part_A", "spNO.1", "a", "color", "105.jpg"))
  with pytest.raises(MerjaxError, match=r"row 2: .* frame number\(s\) 105"):
    casme3.load(root)


def test_seven_classes(root):
  assert len(casme3.load(root, protocol="casme3_7class")) == 6


def test_known_bad_row_gets_mebs_apex(tmp_path):
  # Excel row 130 (MEB's pandas row 128): apex 160 instead of unknown.
  rows = testing.pad_to(testing.CASME3_ROWS, 130) + [("spNO.3", "a", 150, 128, 170, "happy")]
  problems = []
  c = casme3.load(testing.make_casme3(str(tmp_path), rows), problems=problems)[-1]
  assert (c.subject, c.onset, c.apex, c.offset) == ("spNO.3", 0, 10, 20)
  assert problems[-1] == {"where": "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx row 130 (spNO.3/a)",
                          "what": "apex 128 outside onset..offset 150..170",
                          "action": "apex set to 160 (MEB's correction)"}


def test_frames_under_me_a(root):
  # MEB's layout: part_A/data/ME_A/spNO.1/<letter>/color/<N>.jpg
  os.rename(os.path.join(root, "part_A", "data", "part_A"),
            os.path.join(root, "part_A", "data", "ME_A"))
  clips = casme3.load(root)
  assert len(clips) == 6 and "/ME_A/spNO.1/a/color/" in clips[0].frames[0]


def test_part_c(tmp_path):
  root = testing.make_casme3c(str(tmp_path))
  clips = casme3.load_part_c(root)
  assert [c.key for c in clips] == ["casme3c/01/1", "casme3c/01/2", "casme3c/02/1"]
  c = clips[0]
  assert "/ME_C/01/1/color/40.jpg" in c.frames[0]
  assert (c.onset, c.apex, c.offset, c.label, c.action_units) == (0, None, 8, "surprise",
                                                                  ("AU1", "AU2"))
  assert len(registry.loader("casme3c")(root)) == 3


def test_part_c_check_data(tmp_path, capsys):
  import json

  from experiments import check_data
  root = testing.make_casme3c(str(tmp_path))
  assert check_data.main(["--dataset", "casme3c", "--root", root, "--json"]) == 0
  result = json.loads(capsys.readouterr().out)
  assert (result["samples"], result["subjects"], result["problems"]) == (3, 2, [])

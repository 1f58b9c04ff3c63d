"""CAS(ME)^3 Part A loader on a fixture copy."""

import os

import pytest

from merjax.data import casme3, testing
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

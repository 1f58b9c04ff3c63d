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

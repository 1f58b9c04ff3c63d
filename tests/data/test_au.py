"""merjax.data.au: the AU code rule, the configured set and the multi-hot labels."""

import numpy as np
import pytest

from merjax.configs import schema
from merjax.data import au, sheets
from merjax.data.records import Clip
from merjax.errors import MerjaxError


@pytest.mark.parametrize("code, want", [
    ("AU12", "AU12"), ("12", "AU12"), (12, "AU12"), ("L12", "AU12"), ("R4", "AU4"),
    ("12B", "AU12"), ("AU4+", "AU4"), ("R14A", "AU14"), ("AU04", "AU4"), ("B1", "AU1"),
    ("au 6", "AU6"), ("LAU10", "AU10"), ("4(weak)", "AU4"), ("AU10?", "AU10"),
    ("AU4(k)", "AU4"), ("AUR2", "AU2"), ("AU12(k)", "AU12"),
    ("?", None), ("none", None), ("M57", None), ("T", None), ("", None)])
def test_normalize_rule(code, want):
  assert au.normalize(code) == want


def test_sheet_cells_normalise_to_one_set():
  # What the loaders store (sheets.parse_aus) for cells written in each dataset's style.
  cells = {"4+L10": ("AU4", "AU10"), "R12+12B": ("AU12",), "AU1+AU2+?": ("AU1", "AU2"),
           "L1, R2; 4": ("AU1", "AU2", "AU4")}
  for cell, want in cells.items():
    assert au.normalize_all(sheets.parse_aus(cell)) == want, cell


def test_default_set_is_the_schema_default_and_the_issue_list():
  issue = tuple(f"AU{n}" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17))
  assert tuple(schema.defaults()["data"]["action_units"]) == au.DEFAULT_AUS == issue


def test_set_check_names_the_bad_entry():
  assert au.au_set(["12", "L4", 1]) == ("AU12", "AU4", "AU1")
  assert "twice" in au.check_set(["AU4", "R4"])
  assert "not an AU code" in au.check_set(["AU4", "?"])
  assert "non-empty" in au.check_set([])
  with pytest.raises(MerjaxError, match="data.action_units"):
    au.au_set("AU4")


def _clip(name, aus):
  return Clip("d", "s1", name, "x", np.zeros((3, 2, 2, 1), np.uint8), 0, 1, 2, aus)


def test_label_clips_multi_hot_and_drops_unannotated():
  clips = [_clip("a", ("AU12", "L4")), _clip("b", ()), _clip("c", ("AU25",)),
           _clip("d", ("?",))]
  logs = []
  names, kept, y, dropped = au.label_clips(clips, ["AU4", "AU12", "AU1"], logs.append)
  assert names == ("AU4", "AU12", "AU1")
  assert [c.clip_id for c in kept] == ["a", "c"] and dropped == 2
  np.testing.assert_array_equal(y, [[1, 1, 0], [0, 0, 0]])
  assert y.dtype == np.float32 and "dropped 2" in logs[0]
  with pytest.raises(MerjaxError, match="no clip of 1 has an AU code"):
    au.label_clips([_clip("b", ())], ["AU4"])

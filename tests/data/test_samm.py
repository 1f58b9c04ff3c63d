"""SAMM loader on fixture copies in the real format (header on Excel row 14)."""

import os

import pytest

from merjax.data import samm, testing
from merjax.data.labels import get_protocol
from merjax.data.protocols import loso_folds
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError


@pytest.fixture
def root(tmp_path):
  return testing.make_samm(str(tmp_path / "samm"))


def test_loads_rows(root):
  clips = samm.load(root)
  assert len(clips) == len(testing.SAMM_ROWS)
  c = clips[0]
  assert (c.subject, c.clip_id, c.label) == ("006", "006_1_2", "anger")
  assert os.path.basename(c.frames[0]) == "006_05562.jpg"
  assert (c.onset, c.apex, c.offset) == (0, 26, 38)
  assert c.read_frames().shape[-1] == 3


def test_cropped_tree(tmp_path):
  root = testing.make_samm(str(tmp_path), testing.SAMM_ROWS[:3], tree="SAMM_CROP")
  assert len(samm.load(root, frames="cropped")) == 3


def test_known_bad_apexes(root):
  problems = []
  clips = {c.clip_id: c for c in samm.load(root, problems=problems)}
  assert clips["028_4_1"].apex == 1105 - 1100
  assert clips["032_3_1"].apex == 4945 - 4896
  assert [p["where"] for p in problems] == [
      "SAMM_Micro_FACS_Codes_v2.xlsx row 23 (028_4_1)",
      "SAMM_Micro_FACS_Codes_v2.xlsx row 24 (032_3_1)"]


def test_other_apex_outside_is_an_error(tmp_path):
  rows = [(6, "006_1_2", 10, 40, 20, "4", "Anger")]
  root = testing.make_samm(str(tmp_path), rows)
  with pytest.raises(MerjaxError, match=r"row 15: apex 40 outside onset..offset 10..20$"):
    samm.load(root)


def test_five_class_variants_and_loso_skips(root):
  clips = samm.load(root)
  fdp, _, _ = get_protocol("samm_5class_fdp").apply(clips)
  mesti, y, _ = get_protocol("samm_5class_mesti").apply(clips)
  assert len(mesti) - len(fdp) == 2  # the two disgust clips become "other"
  assert loso_folds(subjects_of(fdp), subjects_of(clips)).skipped == ("samm/024", "samm/036")
  three, _, _ = get_protocol("samm_3class").apply(clips)
  assert loso_folds(subjects_of(three), subjects_of(clips)).skipped == ("samm/025",)


def test_wrong_header_row(tmp_path):
  root = testing.make_samm(str(tmp_path), testing.SAMM_ROWS[:2], header_row=13)
  with pytest.raises(MerjaxError, match="header expected on row 14, found on row 13"):
    samm.load(root)


def test_wrong_sheet(tmp_path):
  root = testing.make_samm(str(tmp_path), testing.SAMM_ROWS[:2], sheet="Sheet1")
  with pytest.raises(MerjaxError, match="no sheet 'MICRO_ONLY'"):
    samm.load(root)


def test_unreadable_sheet(tmp_path):
  open(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", "w").write("not xlsx")
  os.makedirs(tmp_path / "SAMM" / "006")
  with pytest.raises(MerjaxError, match="not a readable xlsx"):
    samm.load(str(tmp_path))


def test_non_numeric_onset(tmp_path):
  rows = [(6, "006_1_2", "5562a", 5588, 5600, "4", "Anger")]
  root = str(tmp_path)
  testing.write_xlsx(os.path.join(root, "SAMM_Micro_FACS_Codes_v2.xlsx"),
                     {"MICRO_ONLY": testing.samm_sheet_rows(rows)})
  os.makedirs(os.path.join(root, "SAMM", "006"))
  with pytest.raises(MerjaxError, match="row 15: Onset Frame '5562a' is not a frame number"):
    samm.load(root)


def test_third_known_bad_apex_by_excel_row(tmp_path):
  # Excel row 148 (MEB's pandas row 133, after 032_3_1): apex 5130 when the row's own
  # apex is outside onset..offset; any other row with that apex stays an error.
  rows = testing.pad_to(testing.SAMM_ROWS[:2], 148, header_row=14) + [
      (32, "032_3_2", 5100, 1510, 5140, "4", "Anger")]
  root = testing.make_samm(str(tmp_path), rows)
  problems = []
  c = samm.load(root, problems=problems)[-1]
  assert (c.clip_id, c.onset, c.apex, c.offset) == ("032_3_2", 0, 30, 40)
  assert problems == [{"where": "SAMM_Micro_FACS_Codes_v2.xlsx row 148 (032_3_2)",
                       "what": "apex 1510 outside onset..offset 5100..5140",
                       "action": "apex set to 5130 (MEB's correction)"}]
  rows = testing.SAMM_ROWS[:2] + ((32, "032_3_2", 5100, 1510, 5140, "4", "Anger"),)
  with pytest.raises(MerjaxError, match=r"row 17: apex 1510 outside onset..offset 5100..5140$"):
    samm.load(testing.make_samm(str(tmp_path / "b"), rows))

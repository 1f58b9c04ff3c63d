"""The shipped MEGC2019 list and the composite loader."""

import collections
import os
import shutil

import pytest

from merjax.data import megc2019, testing
from merjax.data.protocols import loso_folds
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError


def test_shipped_list_counts():
  gt = megc2019.ground_truth()
  assert len(gt) == 442
  counts = collections.Counter((d, k) for d, _, _, k in gt)
  assert [counts[("casme2", k)] for k in range(3)] == [88, 32, 25]
  assert [counts[("samm", k)] for k in range(3)] == [92, 26, 15]
  assert [counts[("smic", k)] for k in range(3)] == [70, 51, 43]
  subjects = collections.Counter(d for d, _ in {(d, s) for d, s, _, _ in gt})
  assert subjects == {"casme2": 24, "samm": 28, "smic": 16}
  assert len(megc2019.all_subjects()) == 68
  assert len({(d, s, c) for d, s, c, _ in gt}) == 442


def test_list_contains_032_3_1_in_place():
  names = [c for d, _, c, _ in megc2019.ground_truth() if d == "samm"]
  i = names.index("031_3_1")
  assert names[i:i + 3] == ["031_3_1", "032_3_1", "032_3_2"]
  assert ("samm", "032", "032_3_1", 0) in megc2019.ground_truth()


def test_earlier_list_format_is_read(tmp_path):
  path = tmp_path / "combined_3class_gt-2.csv"
  path.write_text("casme2,sub01,EP02_01f,1\r\n,,,\r\nsamm,6,006_1_2,0\r\n,,,\r\n")
  assert megc2019.ground_truth(str(path)) == [("casme2", "sub01", "EP02_01f", 1),
                                              ("samm", "006", "006_1_2", 0)]
  path.write_text("casme2,sub01,EP02_01f,7\n")
  with pytest.raises(MerjaxError, match="row 1"):
    megc2019.ground_truth(str(path))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  return testing.make_megc2019(str(tmp_path_factory.mktemp("megc")))


def test_composite(root):
  problems = []
  clips = megc2019.load(root, problems=problems)
  assert len(clips) == 442
  counts = collections.Counter((c.dataset, c.label) for c in clips)
  assert counts[("samm", "negative")] == 92 and counts[("smic", "surprise")] == 43
  folds = loso_folds(subjects_of(clips), megc2019.all_subjects())
  assert len(folds) == 68 and folds.skipped == ()
  # policy-handled rows of the copies are reported, the clips outside the list dropped.
  assert {p["where"].split(" (")[-1] for p in problems} == {"sub04/EP12_01f)", "028_4_1)", "032_3_1)"}
  assert megc2019.load(root, protocol="megc2019_3class") == clips


def test_composite_missing_clip(root, tmp_path):
  copy = str(tmp_path / "copy")
  shutil.copytree(root, copy)
  shutil.rmtree(os.path.join(copy, "SMIC_all_cropped", "HS", "s20", "micro", "surprise", "s20_sur_05"))
  with pytest.raises(MerjaxError, match=r"megc2019_gt.csv row 309 \(smic s20/s20_sur_05\): clip not found"):
    megc2019.load(copy)

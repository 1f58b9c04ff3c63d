"""The CASME II + SAMM union (FDP Table 8): clips, options, and a cross-dataset run."""

import collections
import csv
import json
import os

import pytest

from experiments import loso
from merjax.data import casme2_samm, registry, testing
from merjax.data.labels import DEFAULT_PROTOCOL
from merjax.data.protocols import cross_dataset_folds
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  return testing.make_casme2_samm(str(tmp_path_factory.mktemp("casme2_samm")))


def test_union_of_both_copies(root):
  problems = []
  clips = registry.loader("casme2_samm")(root, problems=problems)
  assert len(clips) == len(testing.CASME2_ROWS) + len(testing.SAMM_ROWS) == 23
  assert [c.dataset for c in clips] == ["casme2"] * 12 + ["samm"] * 11
  assert clips[0].key == "casme2/sub01/EP02_01f" and clips[12].key == "samm/006/006_1_2"
  assert clips[0].frames[0].endswith(os.path.join("CASME2", "Cropped", "sub01", "EP02_01f",
                                                  "reg_img46.jpg"))
  assert clips[12].frames[0].endswith(os.path.join("SAMM", "SAMM", "006", "006_1_2",
                                                   "006_05562.jpg"))
  assert len(set(subjects_of(clips))) == 7 + 7
  # Both loaders' policy notes land in the one list: CASME II's "/" apex, SAMM's two apexes.
  assert sorted(p["where"].split(" (")[-1] for p in problems) == [
      "028_4_1)", "032_3_1)", "sub04/EP12_01f)"]
  assert DEFAULT_PROTOCOL["casme2_samm"] == "fdp_cross3"


def test_fdp_cross3_and_cross_folds(root):
  clips = casme2_samm.load(root, protocol="fdp_cross3")
  counts = collections.Counter((c.dataset, c.label) for c in clips)
  assert counts == {("casme2", "happiness"): 2, ("casme2", "surprise"): 2,
                    ("casme2", "others"): 3, ("samm", "happiness"): 2,
                    ("samm", "surprise"): 1, ("samm", "other"): 2}
  folds = cross_dataset_folds([c.dataset for c in clips], "casme2", "samm")
  assert folds.names == ("casme2->samm",)
  assert folds.train_FxN.sum() == 7 and folds.test_FxN.sum() == 5
  assert not (folds.train_FxN & folds.test_FxN).any()


def test_check_data_uses_fdp_cross3(root):
  from experiments.check_data import check
  result, usable = check("casme2_samm", root, read=False)
  assert usable and result["protocol"] == "fdp_cross3"
  assert result["classes"] == {"happiness": 4, "surprise": 3, "others": 5}
  assert result["samples"] == 12 and result["subjects"] == 8
  assert len(result["problems"]) == 3      # the notes of test_union_of_both_copies


def test_options_reach_each_loader(tmp_path):
  raw = testing.make_casme2(str(tmp_path / "c2raw"), testing.CASME2_ROWS[:3], raw=True)
  sm = testing.make_samm(str(tmp_path / "sm"), testing.SAMM_ROWS[:2], tree="SAMM_CROP")
  clips = casme2_samm.load(str(tmp_path), casme2_root=raw, samm_root=sm,
                           casme2_options={"frames": "raw"},
                           samm_options={"frames": "cropped"})
  assert [c.key for c in clips] == ["casme2/sub01/EP02_01f", "casme2/sub01/EP19_05f",
                                    "casme2/sub02/EP09_01", "samm/006/006_1_2",
                                    "samm/006/006_1_3"]
  assert os.sep + "CASME2_RAW_selected" + os.sep in clips[0].frames[0]
  assert os.sep + "SAMM_CROP" + os.sep in clips[3].frames[0]
  with pytest.raises(MerjaxError, match=r"^data.options.frames: unknown key; known: "
                                        r"casme2_options, casme2_root, samm_options, samm_root$"):
    casme2_samm.load(str(tmp_path), frames="raw")
  with pytest.raises(MerjaxError, match=r"^data.options.casme2_options.crop: unknown key"):
    casme2_samm.load(str(tmp_path), casme2_root=raw, casme2_options={"crop": 1})
  with pytest.raises(MerjaxError, match=r"^data.options.casme2_options.frame: unknown key; "
                                        r"did you mean data.options.casme2_options.frames"):
    casme2_samm.load(str(tmp_path), casme2_root=raw, casme2_options={"frame": "raw"})
  with pytest.raises(MerjaxError, match="data.options.samm_options: must be a dict"):
    casme2_samm.load(str(tmp_path), samm_options="raw")


def test_missing_copy_names_it(tmp_path):
  only = testing.make_casme2(str(tmp_path / "only"), testing.CASME2_ROWS[:2])
  with pytest.raises(MerjaxError, match=r"only: no SAMM annotation file"):
    casme2_samm.load(only)


# A cross-dataset run in seconds: STSTNet on 8 x 8 onset-apex differences, one epoch.
CROSS = ["data.folds=cross", "data.train_dataset=casme2", "data.test_dataset=samm",
         "data.protocol=fdp_cross3", "data.modality=onset_apex_diff", "data.preprocess.size=8",
         "train.epochs=1", "train.batch_size=8", "model.dropout=0.0", "data.cache_dir="]


def test_cross_dataset_run_casme2_to_samm(root, tmp_path):
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--dataset", "casme2_samm", "--workdir", workdir,
                    f"data.root={root}"] + CROSS) == 0
  with open(os.path.join(workdir, "predictions.csv")) as f:
    rows = list(csv.DictReader(f))
  assert sorted((r["subject"], r["clip"]) for r in rows) == [
      ("006", "006_1_3"), ("006", "006_3_5"), ("007", "007_5_3"),
      ("007", "007_6_1"), ("025", "025_7_1")]
  assert {r["dataset"] for r in rows} == {"samm"} and {r["fold"] for r in rows} == {
      "casme2->samm"}
  assert sorted(r["label"] for r in rows) == ["happiness", "happiness", "others", "others",
                                              "surprise"]
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["num_predictions"] == 5 and metrics["num_folds"] == 1
  assert metrics["class_names"] == ["happiness", "surprise", "others"]
  assert set(metrics["per_dataset"]) == {"samm"}
  pooled = metrics["pooled"]
  assert pooled["war"] == pooled["acc"] and 0.0 <= pooled["uar"] <= 1.0
  hits = sum(r["label"] == r["pred"] for r in rows)
  assert pooled["acc"] == pytest.approx(hits / 5)

"""The data check CLI on fixture copies."""

import json
import os

from experiments import check_data
from merjax.data import testing


def run(capsys, *args):
  code = check_data.main(list(args))
  return code, capsys.readouterr().out


def test_samm_json(tmp_path, capsys):
  root = testing.make_samm(str(tmp_path))
  code, out = run(capsys, "--dataset", "samm", "--root", root, "--json")
  assert code == 0
  result = json.loads(out)
  assert set(result) == {"dataset", "protocol", "samples", "subjects", "classes",
                         "skipped_subjects", "problems"}
  assert result["protocol"] == "samm_5class_fdp"
  assert result["classes"] == {"anger": 3, "contempt": 1, "happiness": 2, "surprise": 1, "other": 2}
  assert result["skipped_subjects"] == ["samm/024", "samm/036"]
  assert [p["action"] for p in result["problems"]] == ["apex set to 1105 (MEB's correction)",
                                                       "apex set to 4945 (MEB's correction)"]


def test_casme2_text_and_protocol(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path))
  code, out = run(capsys, "--dataset", "casme2", "--root", root, "--protocol", "casme2_3class")
  assert code == 0
  assert "LOSO skips (no samples left): casme2/sub05, casme2/sub10" in out
  assert "ApexFrame '/'" in out


def test_every_problem_listed_and_exit_1(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path))
  os.remove(os.path.join(root, "Cropped", "sub02", "EP09_01", "reg_img7.jpg"))
  with open(os.path.join(root, "Cropped", "sub03", "EP01_2", "reg_img101.jpg"), "w") as f:
    f.write("garbage")
  code, out = run(capsys, "--dataset", "casme2", "--root", root, "--json")
  assert code == 1
  problems = json.loads(out)["problems"]
  assert len(problems) == 3
  assert "row 4" in problems[0]["where"] and "missing" in problems[0]["what"]
  assert "row 8" in problems[1]["where"]
  assert "unreadable" in problems[2]["what"] and problems[2]["action"] == "error: not usable"


def test_no_annotation(tmp_path, capsys):
  code, out = run(capsys, "--dataset", "smic", "--root", str(tmp_path))
  assert code == 1 and "NOT usable" in out and "\nTraceback" not in out


FIXTURES = {
    "casme2": testing.make_casme2, "samm": testing.make_samm, "smic": testing.make_smic,
    "casme_sq": testing.make_casme_sq, "casme3": testing.make_casme3,
    "mmew": testing.make_mmew, "megc2019": testing.make_megc2019,
}


def test_json_for_every_dataset(tmp_path, capsys):
  for dataset, make in FIXTURES.items():
    root = make(str(tmp_path / dataset))
    code, out = run(capsys, "--dataset", dataset, "--root", root, "--json")
    result = json.loads(out)
    assert code == 0, (dataset, result["problems"])
    assert result["dataset"] == dataset
    assert result["samples"] == sum(result["classes"].values()) > 0, dataset
    assert result["subjects"] >= 2, dataset
    assert all(p["action"] != "error: not usable" for p in result["problems"]), dataset

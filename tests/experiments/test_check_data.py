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


# --- every NOT usable verdict lists why (#17.12) -------------------------------------------


def _problems(capsys, *args):
  code, out = run(capsys, *args, "--json")
  return code, json.loads(out)["problems"]


def test_a_frame_of_another_size_is_listed(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path))
  odd = os.path.join(root, "Cropped", "sub02", "EP11_01", "reg_img31.jpg")
  testing.write_frame(odd, size=10)
  code, problems = _problems(capsys, "--dataset", "casme2", "--root", root)
  assert code == 1
  (p,) = [p for p in problems if p["action"] == "error: not usable"]
  assert p["where"].startswith("casme2/sub02/EP11_01 (CASME2-coding-20140508.xlsx row 5)")
  assert p["what"] == (f"frame file {odd} is 10x10, the clip's other frames 8x8 "
                       f"(1 of 9 frames differ)")
  assert p["action"] == "error: not usable"


def test_header_only_sheet_is_listed(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path), testing.CASME2_ROWS[:2])
  testing.write_xlsx(os.path.join(root, "CASME2-coding-20140508.xlsx"),
                     {"Sheet1": [testing.CASME2_HEADER]})
  code, out = run(capsys, "--dataset", "casme2", "--root", root)
  assert code == 1 and "NOT usable" in out
  assert ("CASME2-coding-20140508.xlsx: the sheet has no data rows below its header (row 1) "
          "-> error: not usable") in out
  assert "problems: 1\n" in out


def test_which_of_two_sheets_was_read_is_listed(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path), name="CASME2-coding-20190701.xlsx")
  testing.make_casme2(root, testing.CASME2_ROWS[:5], name="CASME2-coding-20140508.xlsx")
  code, out = run(capsys, "--dataset", "casme2", "--root", root, "--no-read")
  assert code == 0
  assert (f"{root}: 2 CASME II annotation files (CASME2-coding-20140508.xlsx, "
          f"CASME2-coding-20190701.xlsx) -> read CASME2-coding-20140508.xlsx") in out


def test_onset_equals_apex_is_noted(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path), testing.CASME2_ROWS + (testing.CASME2_ONSET_IS_APEX,))
  code, problems = _problems(capsys, "--dataset", "casme2", "--root", root, "--no-read")
  assert code == 0
  (p,) = [p for p in problems if "onset == apex" in p["what"]]
  assert p["where"] == "casme2/sub05/EP09_06f (CASME2-coding-20140508.xlsx row 14)"
  assert "data.onset_equals_apex=drop" in p["action"]


def test_no_sample_or_one_subject_is_listed(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path))
  code, out = run(capsys, "--dataset", "casme2", "--root", root, "--protocol", "smic_3class",
                  "--no-read")
  assert code == 0   # surprise clips are kept by smic_3class
  one = testing.make_casme2(str(tmp_path / "one"), testing.CASME2_ROWS[:2])
  code, problems = _problems(capsys, "--dataset", "casme2", "--root", one, "--no-read")
  assert code == 1
  assert problems[-1]["what"] == ("only 1 subject with samples under protocol casme2_5class; "
                                  "LOSO needs 2")
  code, problems = _problems(capsys, "--dataset", "casme2", "--root", one, "--no-read",
                             "--protocol", "casme_sq_4class")
  assert code == 1
  assert problems[-1]["what"] == ("protocol casme_sq_4class keeps none of the 2 clips "
                                  "(labels: disgust, happiness)")


def test_manifest_and_synthetic(tmp_path, capsys):
  import cv2
  import numpy as np
  for i in range(3):
    cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((4, 4, 3), 30 * i, np.uint8))
  path = tmp_path / "m.csv"
  path.write_text("subject,clip,label,path\ns1,c1,a,0.png\ns2,c2,b,1.png\ns2,c2,b,2.png\n")
  code, problems = _problems(capsys, "--dataset", "manifest", "--root", str(path))
  assert code == 1
  assert problems[0] == {"where": f"{path} row 4", "what": "duplicate clip manifest/s2/c2 "
                         "(also row 3)", "action": "error: not usable"}
  code, out = run(capsys, "--dataset", "synthetic", "--root", "-", "--json")
  assert code == 0 and json.loads(out)["protocol"] == "synthetic"


def test_faces_reports_clips_without_a_face(tmp_path, capsys):
  from merjax.faces import testing as face_testing
  root = face_testing.make_samm_faces(str(tmp_path), no_face=("007_3_1",))
  code, out = run(capsys, "--dataset", "samm", "--root", root, "--faces", "--json")
  assert code == 0                                     # the face policy decides, not the check
  result = json.loads(out)
  assert result["faces"] == {"clips": 4, "aligned": 3, "no_face": 1, "cropped": 0}
  (problem,) = result["problems"]
  assert problem["where"].startswith("samm/007/007_3_1 (SAMM_Micro_FACS_Codes_v2.xlsx row 17) "
                                     "frame 0 (") and problem["where"].endswith("007_00300.jpg)")
  assert "no face found" in problem["what"] and "face_policy" in problem["action"]
  code, out = run(capsys, "--dataset", "samm", "--root", root, "--faces")
  assert "faces: 3 of 4 clips aligned, 1 without a face" in out


def test_faces_skip_a_cropped_release(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path))
  code, out = run(capsys, "--dataset", "casme2", "--root", root, "--faces", "--json")
  assert code == 0 and json.loads(out)["faces"]["cropped"] == json.loads(out)["samples"]

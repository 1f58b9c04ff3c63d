"""Fixture builders: tiny dataset copies in the real formats, generated in a temp folder.

Real file, sheet and folder names, header offsets, blank columns and frame-file
naming; tiny 8x8 frames. No real dataset content is ever written: every row
is made up (or, for MEGC2019, the published ID list with invented frames).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

SIZE = 8


def write_frame(path: str, value: int = 128, size: int = SIZE, gray: bool = False):
  """One small image file (format from the extension)."""
  import cv2
  os.makedirs(os.path.dirname(path), exist_ok=True)
  shape = (size, size) if gray else (size, size, 3)
  image = np.full(shape, value % 256, np.uint8)
  image[0, 0] = 255 - image[0, 0]
  if not cv2.imwrite(path, image):
    raise OSError(f"could not write {path}")


def write_xlsx(path: str, sheets: dict[str, Sequence[Sequence]]):
  """An xlsx file with the given sheets (first one first), rows as written."""
  import openpyxl
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  book = openpyxl.Workbook()
  book.remove(book.active)
  for name, rows in sheets.items():
    ws = book.create_sheet(name)
    for row in rows:
      ws.append(list(row))
  book.save(path)


def frame_range(first: int, last: int) -> range:
  return range(first, last + 1)


# ------------------------------------------------------------------ CASME II

CASME2_HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion")
# (subject, filename, onset, apex, offset, action units, emotion)
CASME2_ROWS = (
    (1, "EP02_01f", 46, 59, 52 + 10, "12", "happiness"),
    (1, "EP19_05f", 10, 14, 20, "4+L10", "disgust"),
    (2, "EP09_01", 5, 8, 12, "12+15", "happiness"),
    (2, "EP11_01", 30, 33, 38, "1+2", "surprise"),
    (3, "EP01_2", 100, 104, 110, "1+2", "surprise"),
    (3, "EP07_04", 20, 23, 28, "14", "repression"),
    (4, "EP12_01f", 40, "/", 47, "4", "disgust"),
    (4, "EP13_06f", 60, 62, 66, "4+7", "disgust"),
    (5, "EP09_05f", 69, 71, 75, "17", "others"),
    (10, "EP13_01", 1, 3, 6, "4", "others"),
    (10, "EP01_01", 7, 9, 12, "12", "others"),
    (11, "EP08_01f", 50, 54, 58, "4", "sadness"),
)


# A row whose onset is its apex (real sheets have some): motion modalities refuse it
# unless data.onset_equals_apex=drop (merjax.modalities.stage.screen_clips).
CASME2_ONSET_IS_APEX = (5, "EP09_06f", 80, 80, 86, "17", "others")


def make_casme2(root: str, rows: Sequence[tuple] = CASME2_ROWS,
                name: str = "CASME2-coding-20140508.xlsx", raw: bool = False,
                header: Sequence = CASME2_HEADER, header_row: int = 1) -> str:
  """A CASME II copy: the coding sheet and `Cropped/subXX/<Filename>/reg_img{N}.jpg`."""
  sheet = [() for _ in range(header_row - 1)] + [header]
  for s, f, on, ap, off, aus, emo in rows:
    sheet.append((s, f, None, on, ap, off, None, aus, emo))
  write_xlsx(os.path.join(root, name), {"Sheet1": sheet})
  tree, prefix = ("CASME2_RAW_selected", "img") if raw else ("Cropped", "reg_img")
  for s, f, on, ap, off, aus, emo in rows:
    for n in frame_range(on, off):
      write_frame(os.path.join(root, tree, f"sub{int(s):02d}", f, f"{prefix}{n}.jpg"), n)
  return root


# ------------------------------------------------------------------ SAMM

SAMM_HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame",
               "Offset Frame", "Duration", "Micro", "Action Units", "Estimated Emotion",
               "Objective Classes", "Notes")
# (subject, filename, onset, apex, offset, action units, emotion)
SAMM_ROWS = (
    (6, "006_1_2", 5562, 5588, 5600, "4+7", "Anger"),
    (6, "006_1_3", 3912, 3948, 3960, "R12", "Happiness"),
    (6, "006_3_5", 2000, 2010, 2020, "1+2", "Surprise"),
    (7, "007_6_1", 100, 110, 120, "12", "Happiness"),
    (7, "007_3_1", 300, 305, 312, "14", "Contempt"),
    (7, "007_5_3", 500, 505, 512, "1+2", "Other"),
    (24, "024_2_1", 700, 705, 710, "9", "Disgust"),
    (25, "025_7_1", 800, 803, 806, "4", "Other"),
    (28, "028_4_1", 1100, 1143, 1134, "4", "Anger"),
    (32, "032_3_1", 4896, 1930, 4950, "4", "Anger"),
    (36, "036_7_3", 900, 904, 910, "9", "Disgust"),
)


def samm_sheet_rows(rows, header=SAMM_HEADER, header_row: int = 14):
  notes = [("Citation: made-up fixture",), ("Key:",), ("R = right", "L = left")]
  notes += [(f"note {i}",) for i in range(len(notes), header_row - 1)]
  out = notes[:header_row - 1] + [header]
  for row in rows:
    if row is None:                 # a blank sheet row
      out.append(())
      continue
    s, f, on, ap, off, aus, emo = row
    duration = off - on + 1 if isinstance(on, int) and isinstance(off, int) else None
    out.append((s, f, 1, on, ap, off, duration, "Micro - 1/2", aus, emo, "I", None))
  return out


def make_samm(root: str, rows: Sequence[tuple | None] = SAMM_ROWS,
              name: str = "SAMM_Micro_FACS_Codes_v2.xlsx", tree: str = "SAMM",
              header_row: int = 14, sheet: str = "MICRO_ONLY") -> str:
  """A SAMM copy: the FACS-codes sheet (header on row 14) and `SAMM/006/<clip>/006_05562.jpg`
  (None rows are blank sheet rows)."""
  write_xlsx(os.path.join(root, name), {sheet: samm_sheet_rows(rows, header_row=header_row)})
  for s, f, on, ap, off, aus, emo in (r for r in rows if r is not None):
    for n in frame_range(on, off):
      write_frame(os.path.join(root, tree, f"{s:03d}", f, f"{s:03d}_{n:05d}.jpg"), n, gray=True)
  return root


# ------------------------------------------------------------------ SMIC

# subject folder (as the cropped tree writes it) -> [(emotion, clip index, frames)]
SMIC_CLIPS = {
    "s1": [("negative", 1, 4), ("positive", 1, 3), ("surprise", 1, 5)],
    "s2": [("positive", 1, 3), ("surprise", 1, 3), ("surprise", 2, 4)],
    "s3": [("negative", 1, 3), ("negative", 2, 3)],
}
SMIC_SHORT = {"negative": "ne", "positive": "po", "surprise": "sur"}


def make_smic(root: str, clips: dict = SMIC_CLIPS, raw: bool = False,
              empty_subjects: Sequence[str] = ("s7",)) -> str:
  """The SMIC cropped release: `HS/s1/micro/negative/s1_ne_01/reg_image{6}.bmp`."""
  prefix = "image" if raw else "reg_image"
  hs = os.path.join(root, "SMIC_all_raw" if raw else "SMIC_all_cropped", "HS")
  for subject, items in clips.items():
    for emotion, k, n in items:
      clip = f"{subject}_{SMIC_SHORT[emotion]}_{k:02d}"
      for i in range(n):
        write_frame(os.path.join(hs, subject, "micro", emotion, clip,
                                 f"{prefix}{100000 + 37 * k + i:06d}.bmp"), i)
    write_frame(os.path.join(hs, subject, "non_micro", "negative", f"{subject}_ne_01",
                             f"{prefix}100001.bmp"))
  for subject in empty_subjects:
    os.makedirs(os.path.join(hs, subject, "non_micro"), exist_ok=True)
  return root


# (subject, filename, onset, apex or None, offset, emotion)
SMIC_E_ROWS = (
    ("s01", "s01_ne_01", 559740, 559757, 559770, "negative"),
    ("s01", "s01_po_01", 10, 14, 20, "positive"),
    ("s02", "s02_sur_01", 5, 9, 12, "surprise"),
)


def make_smic_extended(root: str, rows: Sequence[tuple] = SMIC_E_ROWS, apex: bool = True) -> str:
  """The extended release: `SMIC-HS-E_annotation.xlsx` + `SMIC-HS-E/s01/s01_ne_01/image{N}.bmp`."""
  header = ["Subject", "Filename", "OnsetF", "OffsetF", "Emotion"] + (["ApexF"] if apex else [])
  sheet = [header]
  for s, f, on, ap, off, emo in rows:
    sheet.append([s, f, on, off, emo] + ([ap] if apex else []))
  name = "SMIC-HS-E_annotation_2019.xlsx" if apex else "SMIC-HS-E_annotation.xlsx"
  write_xlsx(os.path.join(root, name), {"Sheet1": sheet})
  for s, f, on, ap, off, emo in rows:
    for n in frame_range(on - 2, off + 2):
      write_frame(os.path.join(root, "SMIC-HS-E", str(s), f, f"image{n:06d}.bmp"), n)
  return root


# ------------------------------------------------------------------ MEGC2019

MEGC_EMOTION = {"casme2": ("disgust", "happiness", "surprise"),
                "samm": ("Anger", "Happiness", "Surprise"),
                "smic": ("negative", "positive", "surprise")}
MEGC_SAMM_SPECIAL = {"028_4_1": (1100, 1143, 1134), "032_3_1": (4896, 1930, 4950)}


def make_megc2019(root: str, gt_path: str | None = None) -> str:
  """CASME II, SAMM and SMIC copies under one root holding every listed clip.

  Emotions are chosen to match the listed class; each clip has 3 frames (the
  two SAMM clips with known-bad apexes keep their real onset/apex/offset).
  Extra clips outside the list (others, a "/" apex) are added as in the real sheets.
  """
  from merjax.data import megc2019
  gt = megc2019.ground_truth(gt_path or megc2019.GT_FILE)
  c2 = [(int(s[3:]), c, 1, 2, 3, "4", MEGC_EMOTION["casme2"][k]) for d, s, c, k in gt if d == "casme2"]
  c2 += [(4, "EP12_01f", 1, "/", 3, "4", "disgust"), (10, "EP13_01", 1, 2, 3, "4", "others"),
         (18, "EP08_04", 1, 2, 3, "4", "others")]
  make_casme2(root, c2)
  sm = []
  for d, s, c, k in gt:
    if d == "samm":
      on, ap, off = MEGC_SAMM_SPECIAL.get(c, (10, 11, 12))
      sm.append((int(s), c, on, ap, off, "4", MEGC_EMOTION["samm"][k]))
  sm.append((25, "025_7_1", 10, 11, 12, "4", "Other"))
  make_samm(root, sm)
  clips: dict[str, list] = {}
  for d, s, c, k in gt:
    if d == "smic":
      short = f"s{int(s[1:])}"
      idx = int(c.split("_")[2])
      clips.setdefault(short, []).append((MEGC_EMOTION["smic"][k], idx, 3))
  make_smic(root, clips)
  return root


# ------------------------------------------------------------------ CASME II + SAMM

def make_casme2_samm(root: str, casme2_rows: Sequence[tuple] = CASME2_ROWS,
                     samm_rows: Sequence[tuple] = SAMM_ROWS) -> str:
  """CASME II and SAMM copies side by side: `root/CASME2/...` and `root/SAMM/...`."""
  make_casme2(os.path.join(root, "CASME2"), casme2_rows)
  make_samm(os.path.join(root, "SAMM"), samm_rows)
  return root


# ------------------------------------------------------------------ CAS(ME)^2

# (participant, name, onset, apex, offset, emotion, type)
CASME_SQ_ROWS = (
    (1, "disgust1_1", 100, 104, 110, "negative", "micro-expression"),
    (1, "anger1_2", 200, 203, 0, "negative", "micro-expression"),
    (1, "disgust1_2", 300, 310, 340, "negative", "macro-expression"),
    (2, "disgust1_1", 50, 52, 56, "positive", "micro-expression"),
    (2, "anger1_1", 10, 12, 14, "surprise", "micro-expression"),
)
CASME_SQ_SUBJECTS = {1: "s15", 2: "s16"}
CASME_SQ_VIDEOS = {"anger1": ("0101", "anger1"), "disgust1": ("0102", "disgustingteeth")}


def make_casme_sq(root: str, rows: Sequence[tuple] = CASME_SQ_ROWS) -> str:
  """CAS(ME)^2: `CAS(ME)^2code_final.xlsx` (3 sheets) + `rawpic/s15/15_0102disgustingteeth/img{N}.jpg`."""
  main = [(p, n, on, ap, off, "4+7", emo, kind, "disgust") for p, n, on, ap, off, emo, kind in rows]
  # The naming sheets have no header; rule1 rows read (15, s15, 1), rule2 rows (101, anger1).
  rule1 = [(int(v[1:]), v, k) for k, v in CASME_SQ_SUBJECTS.items()]
  rule2 = [(int(c), v) for v, (c, _) in CASME_SQ_VIDEOS.items()]
  write_xlsx(os.path.join(root, "CAS(ME)^2code_final(Updated).xlsx"),
             {"CASFEcode_final": main, "naming rule1": rule1, "naming rule2": rule2})
  for p, n, on, ap, off, emo, kind in rows:
    s = CASME_SQ_SUBJECTS[p]
    code, long = CASME_SQ_VIDEOS[n.rsplit("_", 1)[0]]
    for k in frame_range(on - 3, max(off, ap) + 3):
      write_frame(os.path.join(root, "rawpic", s, f"{s[1:]}_{code}{long}", f"img{k}.jpg"), k)
  return root


# ------------------------------------------------------------------ CAS(ME)^3

# (subject, letter, onset, apex, offset, emotion)
CASME3_ROWS = (
    ("spNO.1", "a", 100, 105, 112, "happy"),
    ("spNO.1", "b", 166, 175, 180, "disgust"),
    ("spNO.1", "b", 300, 305, 310, "surprise"),
    ("spNO.1", "b", 400, 128, 410, "fear"),
    ("spNO.2", "j", 50, 0, 60, "others"),
    ("spNO.2", "k", 749, 760, 700, "sad"),
    ("spNO.2", "c", 20, 25, 30, "anger"),
)


def make_casme3(root: str, rows: Sequence[tuple | None] = CASME3_ROWS) -> str:
  """CAS(ME)^3 Part A: the ME label sheet + `part_A/data/part_A/spNO.1/b/color/175.jpg`
  (None rows are blank sheet rows)."""
  header = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
  sheet = [header] + [() if r is None else (*r[:5], "AU4", "I", r[5]) for r in rows]
  write_xlsx(os.path.join(root, "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"), {"label": sheet})
  for s, f, on, ap, off, emo in (r for r in rows if r is not None):
    for k in frame_range(min(on, off) - 2, max(on, off) + 2):
      write_frame(os.path.join(root, "part_A", "data", "part_A", s, f, "color", f"{k}.jpg"), k)
  return root


# ------------------------------------------------------------------ MMEW

# (subject, filename, onset, apex, offset, emotion)
MMEW_ROWS = (
    ("S01", "S01-01-001", 1, 5, 9, "happiness"),
    ("S01", "S01-02-003", 1, 3, 6, "surprise"),
    ("S02", "S02-01-001", 1, 2, 4, "others"),
    ("S02", "S02-03-002", 1, 4, 8, "disgust"),
)


# (sub, count, onset, offset, au, emotion) of CAS(ME)^3 Part C
CASME3C_ROWS = (
    (1, 1, 40, 48, "1,2", "surprise"),
    (1, 2, 300, 306, "4", "disgust"),
    (2, 1, 12, 20, "12", "happy"),
)


def make_casme3c(root: str, rows: Sequence[tuple] = CASME3C_ROWS) -> str:
  """CAS(ME)^3 Part C: `CAS(ME)3_part_C_ME.xlsx` + `ME_C/01/1/color/40.jpg` (one folder per ME)."""
  sheet = [("sub", "count", "onset", "offset", "au", "emotion")] + [tuple(r) for r in rows]
  write_xlsx(os.path.join(root, "CAS(ME)3_part_C_ME.xlsx"), {"Sheet1": sheet})
  for sub, count, on, off, au, emo in rows:
    for k in frame_range(on, off):
      write_frame(os.path.join(root, "ME_C", f"{sub:02d}", str(count), "color", f"{k}.jpg"), k)
  return root


def make_mmew(root: str, rows: Sequence[tuple | None] = MMEW_ROWS) -> str:
  """MMEW: `MMEW_Micro_Exp.xlsx` + `MMEW/Micro_Expression/<emotion>/<clip>/<N>.jpg`
  (a None row is a blank sheet row, to place the next on a given Excel row)."""
  header = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
            "Estimated Emotion", "remarks")
  sheet = [header] + [() if r is None else (*r[:5], "AU12", r[5], None) for r in rows]
  write_xlsx(os.path.join(root, "MMEW_Micro_Exp.xlsx"), {"Sheet1": sheet})
  for s, f, on, ap, off, emo in (r for r in rows if r is not None):
    for k in frame_range(on, off):
      write_frame(os.path.join(root, "MMEW", "Micro_Expression", emo, f, f"{k}.jpg"), k)
  os.makedirs(os.path.join(root, "MMEW", "Macro_Expression", "happiness", "S01-01-009"))
  return root


def pad_to(rows: Sequence[tuple | None], excel_row: int, header_row: int = 1) -> list:
  """`rows` followed by blank rows (None) so that the next row lands on `excel_row`."""
  rows = list(rows)
  return rows + [None] * (excel_row - header_row - 1 - len(rows))


# ------------------------------------------------------------------ CASME (I)

CASME_HEADER = ("Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None,
                "AU", "Emotion")
# (subject, filename, onset, apex, offset, AUs, emotion)
CASME_ROWS = (
    (1, "EP03_2", 20, 24, 28, "12", "happiness"),
    (1, "EP07_1", 5, 9, 12, "4+9", "disgust"),
    (2, "EP08_1", 40, 43, 47, "14", "repression"),
    (2, "EP12_2", 60, "/", 66, "1+2", "surprise"),
    (3, "EP05_5", 7, 10, 13, "L10", "tense"),
)


def make_casme(root: str, rows: Sequence[tuple | None] = CASME_ROWS, raw: bool = False,
               name: str = "CASME-coding-20130523.xlsx", padded: Sequence[str] = ("EP05_5",),
               frames: dict | None = None) -> str:
  """A CASME (I) copy: the coding sheet and `Cropped/subXX/<Filename>/reg_<Filename>-{N}.jpg`
  (N zero-padded to 3 digits for the clips in `padded`; `frames` maps a clip to the
  frame numbers written, default onset..offset; None rows are blank sheet rows)."""
  sheet = [CASME_HEADER]
  for r in rows:
    sheet.append(() if r is None else (r[0], r[1], None, r[2], r[3], None, r[4], None, r[5], r[6]))
  write_xlsx(os.path.join(root, name), {"Sheet1": sheet})
  tree, prefix = ("CASME_raw_selected", "") if raw else ("Cropped", "reg_")
  for s, f, on, ap, off, aus, emo in (r for r in rows if r is not None):
    for n in (frames or {}).get(f, frame_range(on, off)):
      number = f"{n:03d}" if f in padded else str(n)
      write_frame(os.path.join(root, tree, f"sub{int(s):02d}", f, f"{prefix}{f}-{number}.jpg"), n)
  return root


# ------------------------------------------------------------------ 4DME

FOURDME_HEADER = ("sub_ID", "fold_name", "Onset", "Apex", "Offset", "Length", "AUs", "Emotion",
                  "eye blink")
# (sub_ID, fold_name, onset, apex, offset, AUs, emotion)
FOURDME_ROWS = (
    ("S01", "S01_1st_001_01_1", 120, 126, 131, "AU4(k)+L7", "Negative"),
    ("S01", "S01_2nd_003_02_1", 30, 33, 38, "AU12", "Positive"),
    ("S02", "S02_1st_002_01_1", 500, 505, 509, "AUR2+12(k)+45", "Surprise"),
    ("S02", "S02_1st_004_01_2", 10, 10, 16, "AU14", "Repression"),
    ("S03", "S03_2nd_001_01_1", 70, 90, 78, "AU1+AU2", "Surprise+Positive"),
)


def make_fourdme(root: str, rows: Sequence[tuple | None] = FOURDME_ROWS,
                 tree: str = "gray_micro") -> str:
  """A 4DME copy: `4DME_Labelling_Micro_release v1.xlsx` and
  `gray_micro/<sub_ID>/<fold_name>/<fold_name>-{05d}.jpg` (None rows are blank sheet rows)."""
  sheet = [FOURDME_HEADER]
  for r in rows:
    sheet.append(() if r is None else (r[0], r[1], r[2], r[3], r[4], r[4] - r[2] + 1, r[5], r[6], 0))
  write_xlsx(os.path.join(root, "4DME_Labelling_Micro_release v1.xlsx"), {"Sheet1": sheet})
  for s, f, on, ap, off, aus, emo in (r for r in rows if r is not None):
    for n in frame_range(on, off):
      write_frame(os.path.join(root, tree, s, f, f"{f}-{n:05d}.jpg"), n, gray=True)
  return root

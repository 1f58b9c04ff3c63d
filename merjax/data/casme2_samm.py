"""CASME II + SAMM as one dataset: FDP's cross-dataset experiment (seed 002 Table 8).

The union of what `merjax.data.casme2` and `merjax.data.samm` load, CASME II clips first.
Both copies sit under `root` by default, as for the megc2019 composite: each loader finds its
own sheet and frame tree there (up to 3 levels down), e.g.
  root/CASME2/CASME2-coding-20140508.xlsx, root/CASME2/Cropped/sub01/EP02_01f/reg_img46.jpg
  root/SAMM/SAMM_Micro_FACS_Codes_v2.xlsx, root/SAMM/SAMM/006/006_1_2/006_05562.jpg
Clips keep their own dataset name ("casme2" / "samm") and raw labels, so
`data.folds=cross data.train_dataset=casme2 data.test_dataset=samm` splits them, subject keys
stay unique ("casme2/sub01", "samm/006"), and the protocol `fdp_cross3` maps CASME II "others"
and SAMM "other" to one class.

Options: casme2_root, samm_root (default: root), casme2_options, samm_options (dicts passed
to that loader, e.g. {"frames": "raw"}), problems / collect_errors (shared by both).
"""

from __future__ import annotations

from merjax.data import casme2, samm, sheets

NAME = "casme2_samm"
LOADERS = {"casme2": casme2, "samm": samm}


def load(root: str, protocol: str | None = None, **options):
  """CASME II then SAMM clips (labels as each loader writes them)."""
  _, _, parts = sheets.load_parts(root, options, LOADERS)
  clips = [clip for dataset in LOADERS for clip in parts[dataset]]
  return sheets.filter_protocol(clips, protocol)

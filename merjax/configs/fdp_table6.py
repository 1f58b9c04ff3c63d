"""FDP Table 6: CAS(ME)^2, four categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 6 data.root=/path/to/casme_sq
  python -m experiments.table --paper fdp --table 6 --tiny          # synthetic smoke run
CAS(ME)^2 is 30 fps with short clips (12.58 frames on average): T = 8 still applies.
F1 = our pooled macro F1 (UF1); see fdp_table4.py.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 6: CAS(ME)^2, four categories (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")
ROWS = [
    ("LBP-TOP", None, pct(acc=40.95, uf1=None)),
    ("MicroExpSTCNN", None, pct(acc=67.35, uf1=54.43)),
    ("AU-GCN", None, pct(acc=69.38, uf1=65.21)),
    ("SLSTT", None, pct(acc=75.51, uf1=73.98)),
    ("FDP", on("casme_sq", 4), pct(acc=83.67, uf1=81.69)),
]

"""FDP Table 7: CAS(ME)^3 (Part A), seven categories, LOSO, F1 / UAR.

Run:
  python -m experiments.table --paper fdp --table 7 data.root=/path/to/casme3
  python -m experiments.table --paper fdp --table 7 --tiny          # synthetic smoke run
F1 = our pooled macro F1 (UF1), UAR pooled; see fdp_table4.py. Other methods are paper-only
rows (STSTNet can be run alone: merjax/configs/ststnet.py with the same data.protocol).
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 7: CAS(ME)^3, seven categories (LOSO), F1 and UAR"
BASE = "fdp"
COLUMNS = ("uf1", "uar")
ROWS = [
    ("AlexNet", None, pct(uf1=25.70, uar=26.34)),
    ("STSTNet", None, pct(uf1=37.95, uar=37.92)),
    ("RCN", None, pct(uf1=39.28, uar=38.93)),
    ("FR", None, pct(uf1=34.93, uar=34.13)),
    ("HTNet", None, pct(uf1=57.67, uar=54.15)),
    ("FDP", on("casme3", 7), pct(uf1=59.78, uar=57.84)),
]

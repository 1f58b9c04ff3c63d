"""FDP Table 5: CASME II and SAMM, three categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 5 data.root=/path/to/data
  python -m experiments.table --paper fdp --table 5 --tiny          # synthetic smoke run
F1 = our pooled macro F1 (UF1); see fdp_table4.py. Other methods are paper-only rows.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 5: three categories, CASME II / SAMM (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")
ROWS = [
    ("OFF-ApexNet (CASME II)", None, pct(acc=88.28, uf1=86.97)),
    ("OFF-ApexNet (SAMM)", None, pct(acc=68.18, uf1=54.23)),
    ("GACNN (CASME II)", None, pct(acc=89.66, uf1=86.95)),
    ("GACNN (SAMM)", None, pct(acc=88.72, uf1=81.18)),
    ("MER-Supcon (CASME II)", None, pct(acc=89.65, uf1=88.06)),
    ("MER-Supcon (SAMM)", None, pct(acc=81.20, uf1=71.25)),
    ("FDP (CASME II)", on("casme2", 3), pct(acc=92.72, uf1=90.71)),
    ("FDP (SAMM)", on("samm", 3), pct(acc=91.25, uf1=86.67)),
]

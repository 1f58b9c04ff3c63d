"""FDP Table 9: ablations on SAMM, five categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 9 data.root=/path/to/samm
  python -m experiments.table --paper fdp --table 9 --tiny          # synthetic smoke run
w/o L_DIC drops the dynamic-image decoder (`model.use_dic=false`), w/o L_rank the rank scorer
(`model.use_rank=false`); w/o L / G / L&G remove the local / global relational aggregators.
F1 = our pooled macro F1 (UF1); see fdp_table4.py.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 9: ablations, SAMM five categories (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")
SAMM = on("samm", 5)
ROWS = [
    ("FDP", SAMM, pct(acc=86.69, uf1=85.29)),
    ("FDP w/o L_DIC", SAMM + ["model.use_dic=false"], pct(acc=83.98, uf1=80.40)),
    ("FDP w/o L_rank", SAMM + ["model.use_rank=false"], pct(acc=83.54, uf1=80.02)),
    ("FDP w/o L", SAMM + ["model.use_local=false"], pct(acc=81.79, uf1=79.78)),
    ("FDP w/o G", SAMM + ["model.use_global=false"], pct(acc=78.54, uf1=75.32)),
    ("FDP w/o L&G", SAMM + ["model.use_local=false", "model.use_global=false"],
     pct(acc=60.70, uf1=59.05)),
]

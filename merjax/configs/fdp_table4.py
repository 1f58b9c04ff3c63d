"""FDP Table 4: CASME II and SAMM, five categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 4 data.root=/path/to/data   # per row: see below
  python -m experiments.table --paper fdp --table 4 --tiny                    # synthetic smoke run
Each FDP row names its dataset and protocol (merjax/configs/fdp.py PROTOCOLS); set the
dataset's root with data.root=... (one dataset per invocation: run with the other row's root
again, or use a manifest). Paper F1 is compared with our macro F1 (UF1, pooled over the LOSO
folds): the paper does not say which F1 (its release prints sklearn's weighted F1 per fold).
The other methods are paper-only rows.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 4: five categories, CASME II / SAMM (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")
ROWS = [
    ("Graph-TCN (CASME II)", None, pct(acc=73.98, uf1=72.46)),
    ("Graph-TCN (SAMM)", None, pct(acc=75.00, uf1=69.85)),
    ("GACNN (CASME II)", None, pct(acc=81.30, uf1=70.90)),
    ("GACNN (SAMM)", None, pct(acc=88.24, uf1=82.79)),
    ("MERSiamC3D (CASME II)", None, pct(acc=81.89, uf1=83.00)),
    ("MERSiamC3D (SAMM)", None, pct(acc=68.75, uf1=64.00)),
    ("MiNet&MaNet (CASME II)", None, pct(acc=79.90, uf1=75.90)),
    ("MiNet&MaNet (SAMM)", None, pct(acc=76.70, uf1=76.40)),
    ("FDP (CASME II)", on("casme2", 5), pct(acc=88.42, uf1=87.05)),
    ("FDP (SAMM)", on("samm", 5), pct(acc=86.69, uf1=85.29)),
]

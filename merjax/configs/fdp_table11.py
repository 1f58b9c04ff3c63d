"""FDP Table 11: loss weights lambda_d, lambda_r on SAMM, five categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 11 data.root=/path/to/samm
  python -m experiments.table --paper fdp --table 11 --tiny         # synthetic smoke run
F1 = our pooled macro F1 (UF1); see fdp_table4.py.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 11: loss weights, SAMM five categories (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")


def _weights(lambda_d: float, lambda_r: float) -> list[str]:
  return on("samm", 5) + [f"train.loss.lambda_d={lambda_d}", f"train.loss.lambda_r={lambda_r}"]


ROWS = [
    ("lambda_d=1, lambda_r=0.1", _weights(1, 0.1), pct(acc=83.98, uf1=80.40)),
    ("lambda_d=10, lambda_r=0.1", _weights(10, 0.1), pct(acc=84.50, uf1=81.19)),
    ("lambda_d=100, lambda_r=0.1", _weights(100, 0.1), pct(acc=86.69, uf1=85.29)),
    ("lambda_d=1000, lambda_r=0.1", _weights(1000, 0.1), pct(acc=50.73, uf1=23.67)),
    ("lambda_d=100, lambda_r=0.01", _weights(100, 0.01), pct(acc=83.20, uf1=79.73)),
    ("lambda_d=100, lambda_r=1", _weights(100, 1), pct(acc=77.43, uf1=73.89)),
    ("lambda_d=100, lambda_r=10", _weights(100, 10), pct(acc=51.47, uf1=35.17)),
]

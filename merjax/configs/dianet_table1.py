"""DIANet Table 1: comparison with DI-based methods (accuracy, LOSO, one dataset per run).

Run (one dataset per run; that dataset's column fills):
  python -m experiments.table --paper dianet --table 1 --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.table --paper dianet --table 1 --tiny          # synthetic smoke run
Only DIANet runs; LEARNet, OrigiNet, AffectiveNet, GEME and FDCN are paper-only rows.
"""

from merjax.configs.dianet import COLUMNS, PAPER_DIANET, TINY, paper_acc  # noqa: F401

TITLE = "DIANet Table 1: comparison with DI-based methods (accuracy, LOSO)"
BASE = "dianet"
ROWS = [
    ("LEARNet* (DI)", None, paper_acc(0.5667, 0.5926, 0.4896)),
    ("OrigiNet (active image)", None, paper_acc(0.6209, 0.3489)),
    ("AffectiveNet (affective-motion image)", None, paper_acc(0.4649, 0.5812)),
    ("GEME (DI + gender)", None, paper_acc(0.7520, 0.5588)),
    ("FDCN (DI + optical flow)", None, paper_acc(0.7309, 0.5807)),
    ("DIANet (DI-Onset + DI-Offset)", [], paper_acc(*PAPER_DIANET)),
]

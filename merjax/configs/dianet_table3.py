"""DIANet Table 3: fusion block (accuracy, LOSO, one dataset per run).

Run:
  python -m experiments.table --paper dianet --table 3 --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.table --paper dianet --table 3 --tiny          # synthetic smoke run
The Simple Attention Block is our reading of "basic dot-product attention and residual
fusion" (no Q/K/V projections, f_i + attention, docs/dianet.md). The literal Fig. 2 block
(one key per stream) and plain concatenation are extra rows without paper numbers.
"""

from merjax.configs.dianet import COLUMNS, PAPER_DIANET, TINY, paper_acc  # noqa: F401

TITLE = "DIANet Table 3: attention block comparison (accuracy, LOSO)"
BASE = "dianet"
ROWS = [
    ("Simple Attention Block", ["model.fusion=simple"], paper_acc(0.6642, 0.6316, 0.5008)),
    ("Cross Attention Fusion Block (ours: over spatial tokens)", ["model.fusion=cross"],
     paper_acc(*PAPER_DIANET)),
    ("Cross attention, literal (one vector per stream; extra)", ["model.fusion=cross_literal"],
     paper_acc()),
    ("Concatenation (no attention; extra)", ["model.fusion=concat"], paper_acc()),
]

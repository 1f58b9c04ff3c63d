"""DFR-Net Table 4: fusion rule (add / mul / concat after equal-width shallow convs vs the paper's gate), UF1 / UAR.

Run:
  python -m experiments.table --paper dfrnet --table 4 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 4 --tiny
"""

from merjax.configs.dfrnet import COLUMNS, PAPER_FULL, TINY, paper_scores  # noqa: F401

TITLE = "DFR-Net Table 4: feature fusion techniques (MEGC2019 3 classes, LOSO)"
BASE = "dfrnet"
ROWS = [
    ("Add", ["model.fusion=add"],
     paper_scores(0.6856, 0.6563, 0.6039, 0.5946, 0.7669, 0.7609, 0.6874, 0.6353)),
    ("Mul", ["model.fusion=mul"],
     paper_scores(0.6758, 0.6422, 0.6323, 0.6181, 0.7053, 0.6803, 0.6708, 0.6407)),
    ("Cat", ["model.fusion=concat"],
     paper_scores(0.6841, 0.6500, 0.6269, 0.6142, 0.7167, 0.6907, 0.6963, 0.6663)),
    ("Ours", [], paper_scores(*PAPER_FULL)),
]

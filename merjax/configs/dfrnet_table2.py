"""DFR-Net Table 2: comparison on the MEGC2019 composite (Full) and per dataset, UF1 / UAR.

Run:
  python -m experiments.table --paper dfrnet --table 2 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 2 --tiny          # synthetic smoke run
OFF-ApexNet ("ApexNet" [22]) and STSTNet run from their own configs (4th row
element); the other methods are paper-only rows (printed, not run).
"""

from merjax.configs.dfrnet import COLUMNS, PAPER_FULL, TINY, paper_scores  # noqa: F401

TITLE = "DFR-Net Table 2: comparison with the state of the art (MEGC2019 3 classes, LOSO)"
BASE = "dfrnet"
_DC = "data.preprocess.apex_method=dc_rois"     # D&C-RoIs apex for SMIC in every run
ROWS = [
    ("LBP-TOP", None, paper_scores(0.5882, 0.5785, 0.2000, 0.5280, 0.7026, 0.7429, 0.3954, 0.4102)),
    ("BI-WOOF", None, paper_scores(0.6296, 0.6227, 0.5727, 0.5829, 0.7805, 0.8026, 0.5211, 0.5139)),
    ("CapsuleNet", None, paper_scores(0.6520, 0.6506, 0.5820, 0.5877, 0.7068, 0.7018, 0.6209, 0.5989)),
    ("OFF-ApexNet", [_DC],
     paper_scores(0.7196, 0.7096, 0.6817, 0.6695, 0.8764, 0.8681, 0.5409, 0.5392), "off_apexnet"),
    ("STSTNet", [_DC],
     paper_scores(0.7353, 0.7605, 0.6801, 0.7013, 0.8382, 0.8686, 0.6588, 0.6810), "ststnet"),
    ("RCN", None, paper_scores(0.7432, 0.7190, 0.6326, 0.6441, 0.8512, 0.8123, 0.7601, 0.6715)),
    ("ME-PLAN", None, paper_scores(0.7715, 0.7864, 0.7127, 0.7256, 0.8632, 0.8778, 0.7164, 0.7418)),
    ("FeatRef", None, paper_scores(0.7838, 0.7832, 0.7011, 0.7083, 0.8915, 0.8873, 0.7372, 0.7155)),
    ("FGRL-AUF", None, paper_scores(0.7914, 0.7933, 0.7192, 0.7215, 0.8798, 0.8710, 0.7751, 0.7890)),
    ("DFR-Net (ours)", [], paper_scores(*PAPER_FULL)),
]

"""DFR-Net Table 3: feature subsets (T temporal, S spatial, D differential), UF1 / UAR.

Run:
  python -m experiments.table --paper dfrnet --table 3 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 3 --tiny
Without T the fusion gate is omitted; each row stages only the inputs it reads.
"""

from merjax.configs.dfrnet import (COLUMNS, PAPER_FULL, TINY,  # noqa: F401
                                        inputs_override, paper_scores)

TITLE = "DFR-Net Table 3: impact of the input features (MEGC2019 3 classes, LOSO)"
BASE = "dfrnet"
ROWS = [
    ("S + D", ["model.features=S+D", inputs_override("S+D")],
     paper_scores(0.6474, 0.6332, 0.5547, 0.5896, 0.7217, 0.7155, 0.6317, 0.5782)),
    ("T + D", ["model.features=T+D", inputs_override("T+D")],
     paper_scores(0.7067, 0.6733, 0.6340, 0.6208, 0.7588, 0.7323, 0.7436, 0.7107)),
    ("T + S", ["model.features=T+S", inputs_override("T+S")],
     paper_scores(0.7368, 0.7051, 0.6409, 0.6273, 0.8339, 0.8176, 0.7531, 0.7236)),
    ("T + S + D", [], paper_scores(*PAPER_FULL)),
]

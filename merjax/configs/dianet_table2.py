"""DIANet Table 2: backbone of each stream (accuracy, LOSO, one dataset per run).

Run:
  python -m experiments.table --paper dianet --table 2 --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.table --paper dianet --table 2 --tiny          # synthetic smoke run
Every row is the full DIANet (shared trunk, cross attention, consistency loss) with another
trunk; each trunk's last map is projected to 512. From scratch, as every merjax model.
"""

from merjax.configs.dianet import COLUMNS, PAPER_DIANET, TINY, paper_acc  # noqa: F401

TITLE = "DIANet Table 2: backbone comparison (accuracy, LOSO)"
BASE = "dianet"
ROWS = [
    ("ResNet18", ["model.backbone=resnet18"], paper_acc(0.6167, 0.6444, 0.6494)),
    ("EfficientNetV2 (S)", ["model.backbone=efficientnetv2_s"], paper_acc(*PAPER_DIANET)),
    ("ConvNeXt (Tiny)", ["model.backbone=convnext_tiny"], paper_acc(0.5917, 0.5852, 0.6045)),
    ("MobileViT (S)", ["model.backbone=mobilevit_s"], paper_acc(0.6208, 0.6074, 0.6208)),
]

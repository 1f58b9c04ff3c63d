"""MESTI Table IV: MESTI-MEGANet against the state of the art, 5 classes, LOSO.

Run (one dataset per run; that dataset's columns fill):
  python -m experiments.table --paper mesti --table 4 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.table --paper mesti --table 4 --dataset samm data.root=/path/to/SAMM data.protocol=samm_5class_mesti
  python -m experiments.table --paper mesti --table 4 --tiny           # synthetic smoke run
Class sets as §III-B2: CASME II disgust 60, happiness 33, others 102, repression 27,
surprise 25 (247); SAMM anger 57, happiness 26, contempt 12, surprise 15, other 49 (159:
disgust, fear and sadness folded into "other"). Only MESTI-MEGANet runs.
"""

from merjax.configs.meganet import TINY, scores  # noqa: F401

TITLE = "MESTI Table IV: 5-class comparison (LOSO, pooled UF1 / UAR / Acc per dataset)"
BASE = "meganet"
COLUMNS = ("casme2/uf1", "casme2/uar", "casme2/acc", "samm/uf1", "samm/uar", "samm/acc",
           "uf1", "uar", "acc")  # last three: the run pooled (synthetic fills only these)


def paper(casme2=(), samm=()):
  """(UF1, UAR, Acc) per dataset, None = not reported."""
  return {**scores("casme2", *casme2), **scores("samm", *samm)}


ROWS = [
    ("GEME (2021)", None, paper((0.735, None, 0.7520), (0.454, None, 0.5588))),
    ("MER-Supcon (2022)", None, paper((0.729, None, 0.7358), (0.625, None, 0.6765))),
    ("CMNet (2023)", None, paper((0.740, None, 0.7805), (0.772, None, 0.7868))),
    ("C3DBed (2023)", None, paper((0.752, None, 0.7764), (0.722, None, 0.7573))),
    ("KPCANet (2023)", None, paper((0.659, None, 0.7046), (0.522, None, 0.6383))),
    ("JGULF (2024)", None, paper((0.807, None, 0.8204), (0.720, None, 0.8071))),
    ("AU GCN (2024)", None, paper((0.776, None, 0.8185), (0.757, None, 0.7982))),
    ("SODA4MER (2025)", None, paper((0.814, None, 0.8418), (0.789, None, 0.8030))),
    ("LRT3O (2025)", None, paper((0.791, None, 0.8178), (0.757, None, 0.8015))),
    ("MELLM (2025)", None, paper((0.485, 0.534, 0.6434))),
    ("MESTI-MEGANet (ours)", ["data.synthetic.num_classes=5"],
     paper((0.779, 0.786, 0.8204), (0.791, 0.803, 0.8088))),
]

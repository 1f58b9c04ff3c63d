"""MESTI Table III: MESTI-MEGANet against the state of the art, 3 classes, LOSO.

Run (one dataset per run; that dataset's columns fill):
  python -m experiments.table --paper mesti --table 3 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_3class
  python -m experiments.table --paper mesti --table 3 --dataset smic data.root=/path/to/SMIC data.protocol=smic_3class
  python -m experiments.table --paper mesti --table 3 --dataset samm data.root=/path/to/SAMM data.protocol=samm_3class
  python -m experiments.table --paper mesti --table 3 --tiny           # synthetic smoke run
SMIC-HS has no apex: its MESTI is centred on the middle frame ((L - 1) // 2, the stage's
fallback for apex=None with apex_method=annotated). Only MESTI-MEGANet runs; the other
methods are paper-only rows. "-" = not reported.
"""

from merjax.configs.meganet import TINY, scores  # noqa: F401

TITLE = "MESTI Table III: 3-class comparison (LOSO, pooled UF1 / UAR / Acc per dataset)"
BASE = "meganet"
COLUMNS = ("casme2/uf1", "casme2/uar", "casme2/acc", "smic/uf1", "smic/uar", "smic/acc",
           "samm/uf1", "samm/uar", "samm/acc",
           "uf1", "uar", "acc")  # last three: the run pooled (synthetic fills only these)


def paper(casme2=(), smic=(), samm=()):
  """(UF1, UAR, Acc) per dataset, None = not reported."""
  return {**scores("casme2", *casme2), **scores("smic", *smic), **scores("samm", *samm)}


PAPER_MEGANET = paper((0.913, 0.929, 0.932), (0.917, 0.924, 0.926), (0.890, 0.914, 0.918))
ROWS = [
    ("FeatRef (2022)", None, paper((0.892, 0.887), (0.701, 0.708), (0.737, 0.716))),
    ("Dual-ATME (2023)", None,
     paper((0.765, 0.751, 0.817), (0.646, 0.658, 0.646), (0.562, 0.538, 0.714))),
    ("DS-3DCNN (2023)", None, paper((), (0.789, 0.806, 0.788), (0.755, 0.783, 0.792))),
    ("FRL-DGT (2023)", None, paper((0.919, 0.903), (0.743, 0.749), (0.772, 0.758))),
    ("SelfME (2023)", None, paper((0.908, 0.929), (0.697, 0.701))),
    ("Micron-BERT (2023)", None, paper((0.903, 0.891), (0.855, 0.838))),
    ("MERASTC (2023)", None, paper((0.933, 0.950), (0.790, 0.862))),
    ("GLEFFN (2023)", None, paper((0.883, 0.911), (0.771, 0.786))),
    ("MCCA-VNet (2024)", None, paper((0.915, 0.923), (0.816, 0.811), (0.883, 0.871))),
    ("ROI + WArcFace (2025)", None,
     paper((0.924, 0.910, 0.940), (0.811, 0.819, 0.818), (0.787, 0.785, 0.862))),
    ("SODA4MER (2025)", None, paper((0.887, 0.881), (0.886, 0.888))),
    ("OFVIG-Net (2025)", None, paper((0.713, 0.720), (0.644, 0.640), (0.607, 0.579))),
    ("MESTI-MEGANet (ours)", [], PAPER_MEGANET),
]

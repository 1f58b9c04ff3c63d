"""MESTI Table I: seven input modalities x {VGG19, ResNet50, EfficientNet-B0}, 90/10 split.

Run (one dataset per run; that dataset's accuracy column fills; 5-class sets, docs/mesti.md):
  python -m experiments.table --paper mesti --table 1 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.table --paper mesti --table 1 --dataset samm data.root=/path/to/SAMM data.protocol=samm_5class_mesti
  python -m experiments.table --paper mesti --table 1 --tiny           # synthetic smoke run
One stratified 90/10 train/test split (seed train.seed), the paper's training for every
network. Optical flow is the 2-channel TV-L1 (u, v) field; the active and affective-motion
images are merjax's PROVISIONAL readings (not the original formulas; docs/modalities.md).
"""

from merjax.configs.meganet import TINY  # noqa: F401

TITLE = "MESTI Table I: input modalities (accuracy, 90/10 train-test split)"
BASE = "vgg19"
COLUMNS = ("casme2/acc", "samm/acc", "acc", "uf1", "uar")

# (row label, modality, channels: what merjax.models.inputs derives, checked by the tests)
MODALITIES = (
    ("Apex frame", "apex", 3),
    ("Optical flow (onset-apex)", "flow_onset_apex", 2),
    ("Optical flow (apex-offset)", "flow_apex_offset", 2),
    ("Dynamic image", "dynamic_image", 3),
    ("Affective motion image (PROVISIONAL)", "affective_motion_provisional", 3),
    ("Active image (PROVISIONAL)", "active_image_provisional", 3),
    ("MESTI", "mesti", 3),
)
NETWORKS = (("VGG19", "vgg19"), ("ResNet50", "resnet50"), ("EfficientNet-B0", "efficientnet_b0"))

# The paper's accuracies (CASME II, SAMM) per network, in MODALITIES order.
PAPER = {
    "vgg19": ((0.5000, 0.4375), (0.5000, 0.5000), (0.5385, 0.5000), (0.5769, 0.5000),
              (0.5000, 0.4375), (0.4800, 0.5714), (0.7308, 0.6250)),
    "resnet50": ((0.4615, 0.5000), (0.4615, 0.3750), (0.3462, 0.4375), (0.5385, 0.3750),
                 (0.5385, 0.5000), (0.4400, 0.5000), (0.6538, 0.5625)),
    "efficientnet_b0": ((0.3462, 0.4375), (0.2692, 0.4375), (0.4615, 0.4375),
                        (0.5385, 0.5000), (0.4615, 0.4375), (0.5200, 0.4800),
                        (0.6154, 0.5000)),
}
SPLIT = ["data.folds=split", "data.test_fraction=0.1", "data.split_rule=total",
         "data.synthetic.num_classes=5"]


def modality_overrides(modality: str) -> list[str]:
  """The single-image input `modality` (its shape follows from the modality). The paper
  rotates every input; whether it rotated a flow image's vectors is not said: ours, the
  flow image is rotated as a picture (train.augment.flow_rotation=image, docs/augment.md)."""
  flow = ["train.augment.flow_rotation=image"] if modality.startswith("flow") else []
  return [f'data.inputs={{"image": "{modality}"}}'] + flow


ROWS = [
    (f"{net} / {label}", SPLIT + modality_overrides(modality),
     {"casme2/acc": PAPER[base][i][0], "samm/acc": PAPER[base][i][1]}, base)
    for net, base in NETWORKS
    for i, (label, modality, _) in enumerate(MODALITIES)
]

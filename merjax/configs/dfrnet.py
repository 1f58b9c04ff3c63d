"""DFR-Net (Li, Huang, Wu 2025; seed 001) with the paper's training settings.

Run:
  python -m experiments.loso --model dfrnet --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.loso --model dfrnet --dataset synthetic       # no data needed
Paper (§4.2-4.3): Adam lr 1e-5, batch 32, up to 100 epochs, early stopping with
patience 10 on the validation loss, cross-entropy, horizontal flip + random crop,
inputs normalised with the training set's mean and std, MEGC2019 3 classes,
LOSO on the composite, pooled UF1 / UAR (per dataset from the same run).
Ours (the paper leaves open, docs/dfrnet.md §6):
- validation set = 1 held-out *training* subject per fold (`inner_val`);
- random crop = random translation by up to `translate_px` at fixed size
  (16 px at 224 = Resize(256) + RandomCrop(224)); scale it with `size`;
- 224 x 224 RGB inputs; from scratch (`model.pretrained=resnet18.pth` loads a torchvision
  resnet18 into the post-fusion ResNet: stages and stem BN; the stem conv reads the fused map,
  not RGB, and the attention layers are new; docs/weights.md);
- apex: annotated, D&C-RoIs where missing (SMIC), `apex_method=dc_rois`.
"""

from merjax.configs import common

SIZE = 224


def get_config():
  config = common.base_config()
  config["model"] = {"name": "dfrnet"}
  config["data"].update(
      inputs={"spatial": "apex", "temporal": "flow_strain_dfrnet", "diff": "onset_apex_diff"},
      standardize=True,              # per fold, per channel, training samples only
      synthetic={"num_classes": 3})  # synthetic stand-in for the 3-class MEGC task
  config["data"]["preprocess"].update(size=SIZE, grayscale=False, apex_method="dc_rois",
                                      face_pipeline="align")  # "cropped and resized faces"
  config["train"].update(
      epochs=100, batch_size=32,
      optimizer={"name": "adam", "learning_rate": 1e-5, "weight_decay": 0.0},
      loss={"name": "cross_entropy"},
      augment={"flip": True, "translate_px": 16},
      selection={"rule": "inner_val", "val_subjects": 1, "patience": 10})
  return config


# --- shared by the dfrnet_table<N> modules -----------------------------------

# Pooled over the whole run ("Full" on the composite), then per dataset of the
# same run; dataset names as the megc2019 loader writes them.
COLUMNS = ("uf1", "uar", "smic/uf1", "smic/uar", "casme2/uf1", "casme2/uar",
           "samm/uf1", "samm/uar")

# Smoke runs (tests): 3 subjects x 4 clips of 6-8 frames read at 16 x 16, 1 epoch;
# DFR-Net rows also get narrow layers and one block per ResNet stage (the paper_tables
# TINY dict form: by base config).
TINY = {
    "*": ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
          "data.synthetic.size=32", "data.synthetic.min_frames=6",
          "data.synthetic.max_frames=8", "data.synthetic.num_classes=3",
          "data.preprocess.size=16", "train.epochs=1", "train.batch_size=4",
          "train.eval_batch_size=4"],
    "dfrnet": ["model.stage_widths=[8, 16, 32, 64]", "model.shallow_width=8",
               "model.fused_width=8", "model.gate_hidden=8", "model.vit_dim=24",
               "model.vit_depth=1", "model.blocks_per_stage=1",
               "train.augment.translate_px=2"],
}

# The paper's full model in every ablation table (Tables 2-4, 6, 8).
PAPER_FULL = (0.7657, 0.7295, 0.6579, 0.6422, 0.8669, 0.8491, 0.7889, 0.7325)

# Inputs by feature subset (Table 3): only the roles the model reads are staged.
INPUTS = {"T": ("temporal", "flow_strain_dfrnet"), "S": ("spatial", "apex"),
          "D": ("diff", "onset_apex_diff")}


def paper_scores(*values):
  """Full UF1, UAR, SMIC UF1, UAR, CASME II UF1, UAR, SAMM UF1, UAR -> {column: value}."""
  return dict(zip(COLUMNS, values))


def inputs_override(features: str) -> str:
  """`data.inputs={...}` holding only the roles of `features` (e.g. "S+D")."""
  roles = dict(INPUTS[k] for k in features.replace("+", ""))
  return "data.inputs=" + repr(roles).replace("'", '"')

"""OFF-ApexNet (Gan et al. 2019) as a DFR-Net Table 2 baseline.

Run:
  python -m experiments.loso --model off_apexnet --dataset megc2019 data.root=/path/to/megc2019
No official code. Settings of the Off-TANet re-implementation (train_arg.py):
28 x 28 onset->apex flow (u, v), Adam lr 1e-4, batch 64, 3000 epochs, no
augmentation, last epoch; MEGC2019 3 classes, pooled UF1 / UAR.
`data.inputs.image=flow_strain` also works (the model reads channels 0, 1 only).
"""

from merjax.configs import common


def get_config():
  config = common.base_config()
  # PyTorch's default initialisers, as the re-implementation's fresh nn.Modules.
  config["model"] = {"name": "off_apexnet", "init": "torch"}
  config["data"]["inputs"] = {"image": "flow_onset_apex"}
  config["data"]["preprocess"].update(size=28, apex_method="dc_rois")
  config["data"]["synthetic"] = {"num_classes": 3}
  config["train"].update(
      epochs=3000, batch_size=64,
      optimizer={"name": "adam", "learning_rate": 1e-4, "weight_decay": 0.0},
      loss={"name": "cross_entropy"}, augment={})
  return config

"""TFDS builders: one manual-download builder per real dataset, one example per Clip.

Each builder calls `registry.loader(name)(manual_dir, **config.options)` (the
same loader training uses) and writes every clip it returns, in loader order,
as one example of the single split "train" (merjax makes the LOSO folds).
Nothing is ever downloaded: the user's licensed copy sits in `manual_dir` in
the standard layout the loader reads (docs/datasets.md).

Configs: "all" (the default: every clip, `label` = the dataset's own emotion
name as text) and one per label protocol (`label` = ClassLabel over the
protocol's classes in its documented order; clips outside it are left out).
A `MerConfig(name=..., protocol=..., options={...})` passed as `config=`
builds any other combination (e.g. options={"frames": "raw"} for CASME II).

Files are `array_record` (the default here) and every feature is a Tensor,
Scalar, Text or ClassLabel, so preparing and reading need no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds

from merjax.data import labels, registry
from merjax.data.records import Clip
from merjax.data.tfds.reader import AU_SEPARATOR, UNKNOWN_APEX
from merjax.errors import MerjaxError

FILE_FORMAT = "array_record"

FEATURE_DOCS = {
    "frames": "uint8 T x H x W x 3 (RGB) decoded frames of the clip, T variable",
    "label": "ClassLabel of the config's protocol, or the emotion text in config 'all'",
    "emotion": "the dataset's own emotion name, as the merjax loader returns it",
    "dataset": "merjax dataset name of the clip (casme2, samm, smic, ... in megc2019)",
    "subject": "subject id as the loader writes it (sub01, 006, s01)",
    "clip_id": "clip name, unique within (dataset, subject)",
    "onset": "0-based index of the onset frame in `frames`",
    "apex": "0-based index of the apex frame, -1 when the dataset gives none",
    "offset": "0-based index of the offset frame in `frames`",
    "action_units": "FACS codes joined by '+' (AU4+AU7), empty when not annotated",
    "source": "where the clip came from (annotation file and row, or folder)",
    "index": "position of the clip in the loader's output (the reading order)",
}


@dataclasses.dataclass(eq=False)
class MerConfig(tfds.core.BuilderConfig):
  """A builder config: label protocol (None = every clip, text label) and loader options."""
  protocol: str | None = None
  options: dict = dataclasses.field(default_factory=dict)


def make_configs(protocols: tuple[str, ...]) -> list[MerConfig]:
  """Config "all" then one config per protocol name."""
  configs = [MerConfig(name="all", description="every clip; label = the dataset's emotion text")]
  for name in protocols:
    classes = labels.get_protocol(name).classes
    configs.append(MerConfig(name=name, protocol=name,
                             description=f"protocol {name}: {', '.join(classes)}"))
  return configs


def features(classes: tuple[str, ...] | None) -> tfds.features.FeaturesDict:
  """The feature spec; `label` is a ClassLabel over `classes`, or Text when None."""
  d = FEATURE_DOCS
  label = (tfds.features.ClassLabel(names=list(classes), doc=d["label"]) if classes
           else tfds.features.Text(doc=d["label"]))
  text = {k: tfds.features.Text(doc=d[k])
          for k in ("emotion", "dataset", "subject", "clip_id", "action_units", "source")}
  ints = {k: tfds.features.Scalar(dtype=np.int32, doc=d[k])
          for k in ("onset", "apex", "offset", "index")}
  frames = tfds.features.Tensor(shape=(None, None, None, 3), dtype=np.uint8,
                                encoding="zlib", doc=d["frames"])
  return tfds.features.FeaturesDict({"frames": frames, "label": label, **text, **ints})


def example_of(clip: Clip, index: int, label) -> dict:
  """The example dict of one clip (frames decoded); `label` is a class code or text."""
  frames_TxHxWxC = clip.read_frames()
  if frames_TxHxWxC.ndim != 4 or frames_TxHxWxC.shape[-1] != 3 or frames_TxHxWxC.dtype != np.uint8:
    raise MerjaxError(f"{clip.source or clip.key}: frames are {frames_TxHxWxC.dtype} "
                      f"{frames_TxHxWxC.shape}, expected uint8 T x H x W x 3")
  return {
      "frames": frames_TxHxWxC, "label": label, "emotion": clip.label,
      "dataset": clip.dataset, "subject": clip.subject, "clip_id": clip.clip_id,
      "onset": clip.onset, "apex": UNKNOWN_APEX if clip.apex is None else clip.apex,
      "offset": clip.offset, "action_units": AU_SEPARATOR.join(clip.action_units),
      "source": clip.source, "index": index,
  }


def instructions(layout: str) -> str:
  """MANUAL_DOWNLOAD_INSTRUCTIONS naming the expected layout."""
  return (f"This dataset is licensed and is never downloaded. Put your copy in "
          f"manual_dir in the standard layout: {layout}. merjax's loader for it "
          f"finds the annotation file and frame folders under manual_dir; see "
          f"docs/datasets.md for every file name and folder it accepts.")


class MerBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Shared builder: `builder` makes the subclasses, which set DATASET (registry name),
  TITLE, BUILDER_CONFIGS and MANUAL_DOWNLOAD_INSTRUCTIONS."""
  DATASET = ""
  TITLE = ""
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: one example per merjax Clip."}

  def __init__(self, *, file_format=None, **kwargs):
    super().__init__(file_format=file_format or FILE_FORMAT, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    protocol = self.builder_config.protocol
    classes = labels.get_protocol(protocol).classes if protocol else None
    return tfds.core.DatasetInfo(
        builder=self, features=features(classes),
        description=f"{self.TITLE} micro-expression clips read by merjax.data.{self.DATASET}.")

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    config = self.builder_config
    clips = registry.loader(self.DATASET)(root, **config.options)
    if config.protocol:
      clips, codes, _ = labels.get_protocol(config.protocol, clips).apply(clips)
      codes = [int(c) for c in codes]
    else:
      codes = [c.label for c in clips]
    if not clips:
      raise MerjaxError(f"{root}: no {self.DATASET} clip for config '{config.name}'")
    return {"train": self._generate_examples(clips, codes)}

  def _generate_examples(self, clips, codes):
    for index, (clip, label) in enumerate(zip(clips, codes)):
      yield clip.key, example_of(clip, index, label)


def builder(dataset: str, title: str, protocols: tuple[str, ...], layout: str) -> type[MerBuilder]:
  """The MerBuilder of merjax dataset `dataset`, registered with TFDS under that name:
  configs "all" and `protocols`, `title` in its messages, `layout` in its instructions."""
  class Builder(MerBuilder):
    __doc__ = f"The TFDS builder of {title} (merjax.data.{dataset})."
    name = dataset
    DATASET = dataset
    TITLE = title
    BUILDER_CONFIGS = make_configs(protocols)
    MANUAL_DOWNLOAD_INSTRUCTIONS = instructions(layout)
  # Named as its module attribute (casme_sq: CasmeSq), for reprs and pickling.
  Builder.__name__ = Builder.__qualname__ = dataset.title().replace("_", "")
  return Builder


Casme2 = builder("casme2", "CASME II", ("casme2_5class", "casme2_3class", "fdp_cross3"),
                 "CASME2-coding-*.xlsx and Cropped/subXX/<Filename>/reg_img{N}.jpg "
                 "(options={'frames': 'raw'}: CASME2_RAW_selected/subXX/<Filename>/img{N}.jpg)")
Samm = builder("samm", "SAMM",
               ("samm_5class_fdp", "samm_5class_mesti", "samm_3class", "fdp_cross3"),
               "SAMM_Micro_FACS_Codes_v2.xlsx (sheet MICRO_ONLY) and "
               "SAMM/<006>/<Filename>/<006>_<05562>.jpg")
Smic = builder("smic", "SMIC-HS", ("smic_3class",),
               "the cropped release HS/s1/micro/{negative,positive,surprise}/s1_ne_01/"
               "reg_image{6 digits}.bmp, or the extended release SMIC-HS-E_annotation*.xlsx "
               "with its s01/s01_ne_01/image{N}.bmp folders")
CasmeSq = builder("casme_sq", "CAS(ME)^2", ("casme_sq_4class",),
                  "CAS(ME)^2code_final*.xlsx and rawpic/sXX/XX_<code><name>/img{N}.jpg")
Casme3 = builder("casme3", "CAS(ME)^3 Part A", ("casme3_7class", "casme3_3class"),
                 "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx and spNO.X/<letter>/color/<N>.jpg")
Mmew = builder("mmew", "MMEW", ("mmew_6class",),
               "MMEW_Micro_Exp.xlsx and Micro_Expression/<emotion>/<clip>/<N>.jpg")
Casme = builder("casme", "CASME (I)", (),
                "its coding sheet (CASME-coding*.xlsx) and Cropped/subXX/<Filename>/"
                "reg_<Filename>-{N}.jpg (options={'frames': 'raw'}: CASME_raw_selected/...)")
Casme3c = builder("casme3c", "CAS(ME)^3 Part C", (),
                  "CAS(ME)3_part_C_ME.xlsx and ME_C/<sub>/<count>/color/<N>.jpg")
Fourdme = builder("fourdme", "4DME", (),
                  "4DME_Labelling_Micro_release v1.xlsx and gray_micro/<sub_ID>/<fold_name>/"
                  "*{N}.jpg")
# SMIC-HS + CASME II + SAMM, the official 442-clip list.
Megc2019 = builder("megc2019", "MEGC2019 composite", ("megc2019_3class",),
                   "the CASME II, SAMM and SMIC-HS copies side by side, each in its own layout "
                   "(options casme2_root / samm_root / smic_root point elsewhere)")
# FDP's cross-dataset Table 8; clips keep their own dataset name.
Casme2Samm = builder("casme2_samm", "CASME II + SAMM", ("fdp_cross3",),
                     "the CASME II and SAMM copies side by side, each in its own layout "
                     "(options casme2_root / samm_root point elsewhere)")


BUILDERS = {b.DATASET: b for b in (Casme2, Samm, Smic, CasmeSq, Casme3, Mmew, Megc2019,
                                   Casme2Samm, Casme, Fourdme, Casme3c)}


def builder_class(name: str) -> type[MerBuilder]:
  """The builder class of merjax dataset `name` ("casme2"); MerjaxError if there is none."""
  if name not in BUILDERS:
    raise MerjaxError(f"unknown merjax TFDS dataset '{name}'; "
                      f"known: {', '.join(sorted(BUILDERS))}")
  return BUILDERS[name]

"""Modalities by name: what each one computes and from which frames.

Kinds:
- "segment": fn(seg_TxHxWxC float32 in [0, 1], length, apex, cfg) -> H x W x C,
  where seg holds onset..offset (zero-padded past `length`), the onset is
  index 0, the offset index length - 1 and `apex` the 0-based apex.
- "flow": fn(flow_HxWx2, cfg) -> image, flow between the `pair` frames
  ("onset_apex" or "apex_offset") of the grey segment.
- "frames": T uniformly sampled frames, T x H x W x C.
- "image": the clip's first frame as is (precomputed manifests).

Each modality declares what the clip's onset..offset segment (after
`num_frames` resampling, with the apex the stage uses) must hold for its output
to be more than zeros or a constant (`Needs`): the stage refuses (or, with the
`drop` policy, leaves out) clips without it, naming the clip and the modality.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from merjax.modalities import differences, provisional, rank_pooling, strain


@dataclasses.dataclass(frozen=True)
class Needs:
  """What a segment of L frames with its apex at 0-based a must have.

  min_frames: L >= min_frames.
  before_apex: frames before the apex, a >= before_apex (1: onset != apex).
  after_apex: frames after the apex, L - 1 - a >= after_apex (1: apex != offset);
    `after_apex_split` adds one when preprocess di_apex_in_both is False (the
    offset phase then starts after the apex).
  """
  min_frames: int = 1
  before_apex: int = 0
  after_apex: int = 0
  after_apex_split: bool = False

  def unmet(self, length: int, apex: int | None, cfg=None) -> str | None:
    """What the segment lacks, in words ("an apex after the onset"), or None.
    An apex of None (still to be spotted) only checks min_frames."""
    if length < self.min_frames:
      return f"at least {self.min_frames} frames"
    if apex is None:
      return None
    if apex < self.before_apex:
      return ("an apex after the onset" if self.before_apex == 1
              else f"{self.before_apex} frames before the apex")
    after = self.after_apex + (1 if self.after_apex_split and cfg is not None
                               and not cfg.get("di_apex_in_both", True) else 0)
    if length - 1 - apex < after:
      return ("an apex before the offset" if after == 1
              else f"{after} frames after the apex")
    return None

  @property
  def any(self) -> bool:
    return bool(self.min_frames > 1 or self.before_apex or self.after_apex)


NOTHING = Needs()
ONSET_APEX = Needs(min_frames=2, before_apex=1)     # onset -> apex motion
APEX_OFFSET = Needs(min_frames=2, after_apex=1)     # apex -> offset motion
SEQUENCE = Needs(min_frames=2)                      # any temporal change


@dataclasses.dataclass(frozen=True)
class Modality:
  name: str
  kind: str
  fn: Callable | None = None
  pair: str = ""
  provisional: bool = False
  doc: str = ""
  needs: Needs = NOTHING
  # The channels of the (u, v) displacements of a flow field (flip and rotation move the
  # vectors too: merjax/training/augment.py); None = no vector channels.
  vectors: tuple[int, int] | None = None


def _seg(name, fn, doc, provisional_=False, needs=NOTHING):
  return Modality(name, "segment", fn, provisional=provisional_, doc=doc, needs=needs)


def _flow(name, pair, fn, doc):
  return Modality(name, "flow", fn, pair=pair, doc=doc,
                  needs=ONSET_APEX if pair == "onset_apex" else APEX_OFFSET,
                  vectors=(0, 1))     # flow_image and flow_strain_image: u, v first


_MODALITIES = [
    _seg("apex", lambda f, L, a, c: differences.apex_frame(f, a),
         "apex frame, [0, 1], unnormalised"),
    _seg("onset", lambda f, L, a, c: differences.onset_frame(f, 0),
         "onset frame, [0, 1], unnormalised"),
    _seg("onset_apex_diff",
         lambda f, L, a, c: differences.onset_apex_difference(f, 0, a, c["normalize"]),
         "|apex - onset| (DFR-Net Eq. 8), normalised", needs=ONSET_APEX),
    _seg("apex_offset_diff",
         lambda f, L, a, c: differences.apex_offset_difference(f, a, L - 1, c["normalize"]),
         "|offset - apex|, normalised", needs=APEX_OFFSET),
    _flow("flow_onset_apex", "onset_apex",
          lambda fl, c: strain.flow_image(fl, c["flow_normalize"]),
          "TV-L1 flow onset->apex (u, v), H x W x 2"),
    _flow("flow_apex_offset", "apex_offset",
          lambda fl, c: strain.flow_image(fl, c["flow_normalize"]),
          "TV-L1 flow apex->offset (u, v), H x W x 2"),
    _flow("flow_strain", "onset_apex",
          lambda fl, c: strain.flow_strain_image(fl, "mer", c["strain_scheme"],
                                                 "strain", c["flow_normalize"]),
          "(u, v, MER strain) onset->apex, H x W x 3 (STSTNet/HTNet)"),
    _flow("flow_strain_dfrnet", "onset_apex",
          lambda fl, c: strain.flow_strain_image(fl, "dfrnet", c["strain_scheme"],
                                                 "strain", c["flow_normalize"]),
          "(u, v, DFR-Net Eq. 7 strain) onset->apex, H x W x 3"),
    _seg("dynamic_image",
         lambda f, L, a, c: rank_pooling.dynamic_image(f, L, "harmonic", c["normalize"]),
         "Bilen's dynamic image (harmonic ARP) over onset..offset", needs=SEQUENCE),
    _seg("dynamic_image_linear",
         lambda f, L, a, c: rank_pooling.dynamic_image(f, L, "linear", c["normalize"]),
         "linear ARP (2t - T - 1) over onset..offset", needs=SEQUENCE),
    _seg("mesti", lambda f, L, a, c: rank_pooling.mesti(f, L, a, c["normalize"]),
         "MESTI (seed 000 Eq. 4-5)", needs=ONSET_APEX),
    _seg("di_onset", lambda f, L, a, c: rank_pooling.di_onset(f, L, a, c["normalize"]),
         "DIANet DI-Onset (seed 004 Eq. 2)", needs=ONSET_APEX),
    _seg("di_offset",
         lambda f, L, a, c: rank_pooling.di_offset(f, L, a, c["di_apex_in_both"],
                                                   c["normalize"]),
         "DIANet DI-Offset (seed 004 Eq. 3)",
         needs=Needs(min_frames=2, after_apex=1, after_apex_split=True)),
    _seg("active_image_provisional",
         lambda f, L, a, c: provisional.active_image_provisional(
             f, L, c["provisional_mix"], c["normalize"]),
         "PROVISIONAL merjax interpretation, not OrigiNet's formula", True, SEQUENCE),
    _seg("affective_motion_provisional",
         lambda f, L, a, c: provisional.affective_motion_provisional(f, L, c["normalize"]),
         "PROVISIONAL merjax interpretation, not AffectiveNet's formula", True,
         Needs(min_frames=3)),
    Modality("frames", "frames", doc="T uniformly sampled frames, T x H x W x C"),
    Modality("image", "image", doc="the clip's first frame as is"),
]

MODALITIES: dict[str, Modality] = {m.name: m for m in _MODALITIES}


def get(name: str) -> Modality:
  """The modality registered under `name` (MerjaxError if unknown)."""
  from merjax.errors import MerjaxError  # pylint: disable=import-outside-toplevel
  if name not in MODALITIES:
    raise MerjaxError(f"unknown modality '{name}'; known: {', '.join(sorted(MODALITIES))}")
  return MODALITIES[name]

"""Label protocols by name."""

import pytest

from merjax.data import labels
from merjax.data.protocols import LabelProtocol
from merjax.data.records import Clip
from merjax.errors import MerjaxError

import numpy as np


def clip(label, i=0):
  return Clip("x", "s1", f"c{i}", label, np.zeros((1, 2, 2, 3), np.uint8), 0, 0, 0)


def test_every_protocol_resolves():
  clips = [clip("others", i) for i in range(12)]
  for name in labels.PROTOCOLS:
    assert isinstance(labels.get_protocol(name, clips), LabelProtocol)


@pytest.mark.parametrize("name,classes", [
    ("casme2_5class", ("happiness", "disgust", "repression", "surprise", "others")),
    ("casme2_3class", ("negative", "positive", "surprise")),
    ("samm_5class_fdp", ("anger", "contempt", "happiness", "surprise", "other")),
    ("samm_5class_mesti", ("anger", "contempt", "happiness", "surprise", "other")),
    ("megc2019_3class", ("negative", "positive", "surprise")),
    ("casme_sq_4class", ("positive", "negative", "surprise", "others")),
    ("casme3_7class", ("happy", "disgust", "surprise", "fear", "anger", "sad", "others")),
    ("mmew_6class", ("happiness", "surprise", "disgust", "fear", "sadness", "others")),
    ("fdp_cross3", ("happiness", "surprise", "others")),
])
def test_class_orders(name, classes):
  assert labels.get_protocol(name).classes == classes


def test_samm_variants():
  raw = ["Other", "disgust", "fear", "sadness", "anger"]
  clips = [clip(l, i) for i, l in enumerate(raw)]
  _, y, dropped = labels.get_protocol("samm_5class_fdp").apply(clips)
  assert y.tolist() == [4, 0] and dropped == {"disgust": 1, "fear": 1, "sadness": 1}
  _, y, _ = labels.get_protocol("samm_5class_mesti").apply(clips)
  assert y.tolist() == [4, 4, 4, 4, 0]


def test_three_class_maps():
  clips = [clip(l, i) for i, l in enumerate(["happiness", "disgust", "repression", "surprise", "others"])]
  kept, y, dropped = labels.get_protocol("casme2_3class").apply(clips)
  assert y.tolist() == [1, 0, 0, 2] and dropped == {"others": 1}
  clips = [clip(l, i) for i, l in enumerate(["contempt", "happiness", "surprise", "other"])]
  _, y, _ = labels.get_protocol("samm_3class").apply(clips)
  assert y.tolist() == [0, 1, 2]


def test_cross_dataset_others():
  p = labels.get_protocol("fdp_cross3")
  _, y, _ = p.apply([clip("others"), clip("Other", 1), clip("surprise", 2), clip("disgust", 3)])
  assert y.tolist() == [2, 2, 1]


def test_dianet_drops_small_classes():
  clips = [clip("happiness", i) for i in range(10)] + [clip("anger", 10 + i) for i in range(9)]
  p = labels.get_protocol("dianet", clips)
  assert p.classes == ("happiness",)
  with pytest.raises(MerjaxError, match="depends on the data"):
    labels.get_protocol("dianet")


def test_unknown_protocol():
  with pytest.raises(MerjaxError, match="unknown label protocol 'nope'"):
    labels.get_protocol("nope")

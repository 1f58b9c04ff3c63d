"""merjax.data.composite over fixture copies: members by registry name, unique subject
keys, per-member roots, the common AU space, leave-one-dataset-out folds, composite_3class."""

import collections
import json
import os

import numpy as np
import pytest

from merjax import config as config_lib
from merjax.data import au, composite, labels, protocols, registry, testing
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError

MEMBERS = ["casme2", "samm", "mmew", "casme3"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("composite"))
  testing.make_casme2(os.path.join(root, "CASME2"))
  testing.make_samm(os.path.join(root, "SAMM"))
  testing.make_mmew(os.path.join(root, "MMEW"))
  testing.make_casme3(os.path.join(root, "CASME3"))
  return root


def test_members_keep_their_names_and_subjects_are_unique(root):
  clips = composite.load(root, members=MEMBERS, problems=[])
  counts = collections.Counter(c.dataset for c in clips)
  # CAS(ME)^3's fixture drops its onset-after-offset row.
  assert counts == {"casme2": _n(testing.CASME2_ROWS), "samm": _n(testing.SAMM_ROWS),
                    "mmew": _n(testing.MMEW_ROWS), "casme3": _n(testing.CASME3_ROWS) - 1}
  assert [c.dataset for c in clips] == sorted((c.dataset for c in clips), key=MEMBERS.index)
  keys = subjects_of(clips)
  per_member = {d: {c.subject for c in clips if c.dataset == d} for d in MEMBERS}
  assert len(set(keys)) == sum(len(s) for s in per_member.values())
  assert "casme2/sub01" in keys and "samm/006" in keys and "mmew/S01" in keys
  assert len({c.key for c in clips}) == len(clips)


def test_per_member_roots_and_options(root):
  roots = {"casme2": os.path.join(root, "CASME2"), "mmew": os.path.join(root, "MMEW")}
  clips = composite.load(None, members=["mmew", "casme2"], roots=roots)
  assert [c.dataset for c in clips][:_n(testing.MMEW_ROWS)] == ["mmew"] * _n(testing.MMEW_ROWS)
  with pytest.raises(MerjaxError, match=r"data.options.roots.samm: no root"):
    composite.load(None, members=["casme2", "samm"], roots={"casme2": roots["casme2"]})


def test_roots_per_member_need_no_data_root(root):
  """data.root may be empty when every member has its own root (schema and registry)."""
  roots = {"casme2": os.path.join(root, "CASME2"), "mmew": os.path.join(root, "MMEW")}
  config = config_lib.resolve("ststnet", "composite", [
      'data.options.members=["mmew","casme2"]', "data.options.roots=" + json.dumps(roots)])
  assert not config["data"]["root"]
  clips = registry.load_clips(config["data"])
  assert {c.dataset for c in clips} == {"mmew", "casme2"}


def test_common_au_space(root):
  clips = composite.load(root, members=MEMBERS)
  codes = {a for c in clips for a in au.normalize_all(c.action_units)}
  assert codes <= set(au.DEFAULT_AUS) | {"AU24", "AU25"}
  # CASME II 'L10' and SAMM 'R12' meet CAS(ME)^3 / MMEW's 'AU4' / 'AU12' in one space.
  names, kept, y, _ = au.label_clips(clips, au.DEFAULT_AUS)
  by_key = {c.key: y[i] for i, c in enumerate(kept)}
  assert by_key["casme2/sub01/EP19_05f"][[2, 7]].tolist() == [1, 1]        # AU4, AU10
  assert by_key["samm/006/006_1_3"][names.index("AU12")] == 1
  assert by_key["mmew/S01/S01-01-001"].sum() == 1


@pytest.mark.parametrize("options, match", [
    ({"members": ["casme2", "nope"]}, "data.options.members: unknown dataset 'nope'"),
    ({"members": ["megc2019"]}, "'megc2019' is not one dataset's copy"),
    ({"members": ["synthetic"]}, "'synthetic' is not one dataset's copy"),
    ({"members": ["samm", "samm"]}, "'samm' is listed twice"),
    ({"members": ["samm"], "roots": {"casme2": "/x"}}, r"data.options.roots.casme2: not a member"),
    ({"members": ["samm"], "member_options": {"samm": {"sheet": 1}}},
     r"data.options.member_options.samm.sheet: unknown key"),
    ({"membres": ["samm"]}, r"data.options.membres: unknown key; did you mean "
                            r"data.options.members\?"),
])
def test_option_errors_are_one_line(options, match):
  with pytest.raises(MerjaxError, match=match):
    registry.check_options({"dataset": "composite", "root": "/x", "options": options})


def test_defaults_pick_up_newly_registered_members(monkeypatch):
  assert composite.default_members()[:4] == [n for n in ("casme", "casme2", "samm", "mmew")
                                             if n in registry.DATASETS][:4]
  monkeypatch.setitem(registry.DATASETS, "fourdme", "merjax.data.samm:load")
  assert composite.default_members()[-1] == "fourdme"
  monkeypatch.setitem(registry.DATASETS, "4dme", "merjax.data.samm:load")
  assert composite.default_members()[-1] == "4dme"          # the first spelling wins


def test_leave_one_dataset_out_folds():
  folds = protocols.make_folds("lodo", subject_N=["a/1", "b/1", "a/2", "c/1"], y_N=None,
                               dataset_N=["a", "b", "a", "c"])
  assert folds.names == ("a", "b", "c") and folds.kind == "lodo"
  np.testing.assert_array_equal(folds.test_FxN, [[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
  np.testing.assert_array_equal(folds.train_FxN, ~folds.test_FxN)
  with pytest.raises(MerjaxError, match="lodo needs at least 2 datasets, got a"):
    protocols.leave_one_dataset_out_folds(["a", "a"])


def test_composite_3class_maps_every_member(root):
  clips = composite.load(root, members=MEMBERS)
  protocol = labels.protocol_for({"dataset": "composite", "root": root}, clips)
  assert protocol.name == "composite_3class" and protocol.classes == labels.MEGC3
  kept, y, dropped = protocol.apply(clips)
  # Each member's own 3-class protocol keeps the same clips with the same classes.
  own = {"casme2": "casme2_3class", "samm": "samm_3class", "casme3": "casme3_3class"}
  for d, name in own.items():
    mine = [c for c in clips if c.dataset == d]
    want_kept, want_y, _ = labels.get_protocol(name).apply(mine)
    got = [(c.key, int(v)) for c, v in zip(kept, y) if c.dataset == d]
    assert got == [(c.key, int(v)) for c, v in zip(want_kept, want_y)], d
  assert {"others", "Other"} & set(dropped)


def test_casme_and_4dme_members(tmp_path):
  # CASME and CASME II share folder names (Cropped/subXX): each gets its own root.
  roots = {"casme": testing.make_casme(str(tmp_path / "CASME")),
           "casme2": testing.make_casme2(str(tmp_path / "CASME2")),
           "fourdme": testing.make_fourdme(str(tmp_path / "4DME"))}
  clips = composite.load(None, members=["casme", "casme2", "fourdme"], roots=roots)
  keys = subjects_of(clips)
  assert "casme/sub01" in keys and "casme2/sub01" in keys          # one raw id, two people
  folds = protocols.loso_folds(keys)
  assert len(folds) == 3 + 7 + 3
  assert not (folds.test_FxN[folds.names.index("casme/sub01")]
              & np.asarray([c.dataset == "casme2" for c in clips])).any()
  fourd = {c.clip_id: au.normalize_all(c.action_units) for c in clips if c.dataset == "fourdme"}
  assert fourd["S01_1st_001_01_1"] == ("AU4", "AU7")                 # AU4(k)+L7
  assert fourd["S02_1st_002_01_1"] == ("AU2", "AU12", "AU45")        # AUR2+12(k)+45
  _, _, dropped = labels.get_protocol("composite_3class").apply(clips)
  assert dropped == {"tense": 1, "others": 3, "surprise+positive": 1}


def _n(rows):
  """Clip rows of a fixture table (None rows are blank sheet rows)."""
  return sum(r is not None for r in rows)

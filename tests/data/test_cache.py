"""The decoded-frame cache."""

import os

import numpy as np

from merjax.data import cache, casme2, testing


def test_cache_reuses_file(tmp_path, capsys):
  root = testing.make_casme2(str(tmp_path / "c"), testing.CASME2_ROWS[:4])
  clips = casme2.load(root)
  kw = dict(root=root, loader="casme2", cache_dir=str(tmp_path / "cache"), size=4)
  first = cache.cached_clips(clips, **kw)
  assert "cache: decoded 4/4" in capsys.readouterr().err
  assert first[0].frames.shape == (17, 4, 4, 3) and first[0].apex == clips[0].apex
  second = cache.cached_clips(clips, **kw)
  assert capsys.readouterr().err == ""
  assert all(np.array_equal(a.frames, b.frames) for a, b in zip(first, second))
  assert len(os.listdir(tmp_path / "cache")) == 1
  cache.cached_clips(clips, **{**kw, "size": 2})
  assert len(os.listdir(tmp_path / "cache")) == 2
  raw = cache.cached_clips(clips, **{**kw, "size": None, "gray": True})
  assert raw[0].frames.shape == (17, 8, 8, 1)

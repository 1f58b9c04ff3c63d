"""Checkpoints of a run's stacked member state, behind one small interface
(the only module that talks to Orbax).

Two kinds, both under `<workdir>/checkpoints/`:
- `latest/`: the in-flight group's whole state (parameters, optimizer state,
  batch statistics, PRNG keys, epoch, selection state) every k epochs, with
  the group index, epoch and loss history; only the newest is kept;
- `final/group_GGGG/`: each finished group's selected parameters, batch
  statistics and input standardisation, to predict on new clips.
PRNG key arrays are stored as their raw key data and re-wrapped on restore.

In a multi-process run (merjax/distributed.py) every process makes the same calls with
the same global (member-sharded) state: Orbax writes each process's shards and process 0
the metadata, in a directory all processes share; a restore places the state on the
current mesh, so a run may resume with another process or device count.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from merjax.errors import MerjaxError


# The state a finished member needs to predict (merjax.training.trainer.FoldFunctions.predict).
FINAL_KEYS = ("params", "batch_stats", "norm", "best_params", "best_batch_stats", "alive")


def _is_key(x) -> bool:
  return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _unwrap_keys(tree):
  return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _rewrap_keys(restored, like):
  return jax.tree.map(lambda r, l: jax.random.wrap_key_data(r) if _is_key(l) else r,
                      restored, like)


@contextlib.contextmanager
def damaged_checkpoint(path: str):
  """Turns any failure to read the checkpoint at `path` into a one-line MerjaxError."""
  try:
    yield
  except MerjaxError:
    raise
  except Exception as e:  # noqa: BLE001 - Orbax and TensorStore raise many kinds
    reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
    raise MerjaxError(f"{path}: damaged checkpoint ({reason}); pass --restart to start the "
                      f"run over") from None


class RunCheckpointer:
  """Saves and restores a run's group states under `directory`."""

  def __init__(self, directory: str, every_epochs: int, save_final: bool = True):
    self.directory = os.path.abspath(directory)
    self.every_epochs = int(every_epochs)
    self.keeps_final = save_final
    self._latest = ocp.CheckpointManager(
        os.path.join(self.directory, "latest"),
        options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True,
                                             enable_async_checkpointing=False))

  def due(self, epoch: int, epochs: int) -> bool:
    """Whether to save after `epoch` (every k epochs; never the last one,
    whose state the final checkpoint holds)."""
    return self.every_epochs > 0 and epoch % self.every_epochs == 0 and epoch < epochs

  def save_latest(self, group: int, epoch: int, state, history: list) -> None:
    """The in-flight group's state after `epoch` epochs (history: one M-vector of
    losses per epoch)."""
    step = self._step(group, epoch)
    meta = {"group": group, "epoch": epoch,
            "history": [np.asarray(h, np.float64).tolist() for h in history]}
    self._latest.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_unwrap_keys(state)), meta=ocp.args.JsonSave(meta)))
    self._latest.wait_until_finished()

  def restore_latest(self, group: int, like_state) -> tuple[int, Any, list] | None:
    """(epoch, state, history) of `group`'s newest checkpoint, or None.
    `like_state` is a state of the right structure, shapes and shardings."""
    step = self._latest.latest_step()
    if step is None:
      return None
    path = os.path.join(self.directory, "latest", str(step))
    with damaged_checkpoint(path):
      meta = self._latest.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))["meta"]
      if meta["group"] != group:
        return None
      target = _unwrap_keys(like_state)
      restored = self._latest.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(target)))["state"]
    history = [np.asarray(h, np.float32) for h in meta["history"]]
    return meta["epoch"], _rewrap_keys(restored, like_state), history

  def save_final(self, group: int, state, members: list[int]) -> None:
    """What a finished group needs to predict (FINAL_KEYS of its state) and the
    member indices of its rows."""
    if not self.keeps_final:
      return
    path = self._final_path(group)
    kept = {k: v for k, v in state.items() if k in FINAL_KEYS}
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
      ckptr.save(path, args=ocp.args.Composite(
          state=ocp.args.StandardSave(kept),
          meta=ocp.args.JsonSave({"group": group, "members": list(map(int, members))})),
          force=True)

  def final_groups(self) -> list[int]:
    """Indices of the groups with a final checkpoint."""
    root = os.path.join(self.directory, "final")
    if not os.path.isdir(root):
      return []
    return sorted(int(d.split("_")[1]) for d in os.listdir(root)
                  if d.startswith("group_") and not d.endswith(".tmp") and "tmp" not in d)

  def restore_final(self, group: int) -> tuple[dict, list[int]]:
    """(state as nested dicts of arrays, member indices) of a finished group."""
    with damaged_checkpoint(self._final_path(group)), ocp.Checkpointer(
        ocp.CompositeCheckpointHandler()) as ckptr:
      out = ckptr.restore(self._final_path(group), args=ocp.args.Composite(
          state=ocp.args.StandardRestore(), meta=ocp.args.JsonRestore()))
    return out["state"], out["meta"]["members"]

  def close(self):
    self._latest.close()

  def _final_path(self, group: int) -> str:
    return os.path.join(self.directory, "final", f"group_{group:04d}")

  @staticmethod
  def _step(group: int, epoch: int) -> int:
    return group * 1_000_000 + epoch

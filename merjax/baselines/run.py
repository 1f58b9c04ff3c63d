"""A baseline's run: features once for every clip, then one linear SVM per fold.

`run_baseline` is what `experiment.run` calls for `--model lbp_top` / `--model mdmo`: the
same data preparation (labels, folds, modality stage and its cache), input fingerprint,
ledger and predictions.csv as a network's run, so `experiment.score_run`,
`experiments.score`, `table` and `compare` read it unchanged. Each fold is a finished
group of the ledger, written as it ends; a resumed run skips the folds it holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping

import numpy as np

from merjax import baselines, experiment, rundir
from merjax.baselines import lbp_top, mdmo, svm

logger = logging.getLogger(__name__)

FLOW_CACHE_VERSION = "mdmo-flow-1"


def grey_u8(x_Nx___xC: np.ndarray, input_scale: float) -> np.ndarray:
  """uint8 grey levels N x ... (channel dropped) of staged frames (uint8 / 255 x scale);
  RGB through the stage's cv2 grey weights."""
  from merjax.modalities import preprocess as pp  # pylint: disable=import-outside-toplevel
  u8 = np.clip(np.round(np.asarray(x_Nx___xC, np.float64) / input_scale * 255.0), 0, 255)
  u8 = u8.astype(np.uint8)
  if u8.shape[-1] == 3:
    lead = u8.shape[:-3]
    u8 = np.asarray(pp.rgb_to_gray(u8.reshape((-1,) + u8.shape[-3:])))
    u8 = u8.reshape(lead + u8.shape[-3:])
  return u8[..., 0]


def _cached_flows(frames_u8, flow: str, flow_params: Mapping, cache_dir: str | None, log):
  """mdmo.sequence_flows of the grey frames, cached in the modality cache (keyed by the
  frames' bytes, the pairing and the TV-L1 parameters)."""
  h = hashlib.sha256(json.dumps([FLOW_CACHE_VERSION, flow, dict(flow_params),
                                 frames_u8.shape], sort_keys=True).encode())
  h.update(np.ascontiguousarray(frames_u8).data)
  path = os.path.join(cache_dir, f"mdmo_{flow}-{h.hexdigest()[:20]}.npz") if cache_dir else None
  if path and os.path.isfile(path):
    try:
      with np.load(path) as z:
        log(f"mdmo: cached flows {path}")
        return z["flow"]
    except Exception:  # pylint: disable=broad-except  # damaged cache: recompute
      os.remove(path)
  flows = mdmo.sequence_flows(frames_u8.astype(np.float32) / 255.0, flow, flow_params,
                              log=log)
  if path:
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, flow=flows)
    os.replace(tmp, path)
  return flows


def clip_features(config: Mapping, prepared: experiment.PreparedData, log=logger.info):
  """float32 N x D features of every prepared clip (no labels are read)."""
  name = config["model"]["name"]
  f = baselines.fields(config["model"])
  data_cfg = config["data"]
  (x,) = prepared.inputs.values()
  scale = float(data_cfg["input_scale"])
  if name == "lbp_top":
    return lbp_top.lbp_top_features(grey_u8(x, scale), f["radius"], f["neighbours"],
                                    f["grid"], f["mapping"])
  if f["flow"] == "onset_apex":
    flows = np.asarray(x, np.float32)[:, None] / np.float32(scale)
  else:
    preprocess = data_cfg["preprocess"]
    flows = _cached_flows(grey_u8(x, scale), f["flow"], preprocess.get("flow_params") or {},
                          experiment.modality_cache_dir(data_cfg), log)
  return mdmo.mdmo_features(flows, f["grid"], f["bins"], f["normalize_magnitude"])


def _rows(prepared, fold_name: str, seed: int, test_idx, scores):
  for i, s in zip(test_idx, scores):
    clip = prepared.clips[i]
    yield (clip.dataset, clip.subject, clip.clip_id, fold_name, seed,
           prepared.class_names[prepared.y_N[i]], s)


def run_baseline(config: Mapping, rd: rundir.RunDirectory, log=logger.info):
  """Fits and scores every fold of a baseline's validated config in run directory `rd`;
  returns (member records, prepared data) as `experiment.run_plan` does."""
  f = baselines.fields(config["model"])
  ledger = rundir.Ledger(rd.path, fresh=not rd.resuming)
  if rd.resuming:
    log(f"resuming the interrupted run in {rd.path}")
    ledger.cut_partial_rows()
  prepared = experiment.prepare_data(config, log)
  rd.check_inputs("program_0", rundir.input_fingerprint(prepared.clips, prepared.class_names))
  writer = rundir.PredictionWriter(os.path.join(rd.path, rundir.PREDICTIONS),
                                   prepared.class_names, fresh=not rd.resuming)
  ledger.commit([writer.path])
  folds = prepared.folds
  progress = ledger.program("0")
  progress.update(group_size=1, num_groups=len(folds))
  if progress["groups_done"]:
    log(f"resuming: {len(progress['groups_done'])} of {len(folds)} folds already done")
  X_NxD = clip_features(config, prepared, log)
  seed = config["train"]["seed"]
  log(f"{config['model']['name']}: {X_NxD.shape[1]} features per clip, linear SVM C={f['C']} "
      f"(deterministic: seeds change nothing), {len(folds)} folds")
  for k, fold_name in enumerate(folds.names):
    if k in progress["groups_done"]:
      continue
    train_idx = np.flatnonzero(folds.train_FxN[k])
    test_idx = np.flatnonzero(folds.test_FxN[k])
    X_train, X_test = X_NxD[train_idx], X_NxD[test_idx]
    if config["data"]["standardize"]:
      X_train, X_test = svm.standardize(X_train, X_test)
    scores = svm.fit_scores(X_train, prepared.y_N[train_idx], X_test,
                            len(prepared.class_names), C=f["C"],
                            class_weight=f["class_weight"], max_iter=f["max_iter"])
    writer.write(_rows(prepared, fold_name, seed, test_idx, scores))
    progress["members"].append({
        "member": k, "combo": 0, "seed": seed, "fold": fold_name, "loss": [],
        "selected_epoch": None, "failed": False, "failed_epoch": None,
        "predictions": os.path.relpath(writer.path, ledger.workdir)})
    progress["groups_done"].append(k)
    ledger.commit([writer.path])
    correct = int((scores.argmax(1) == prepared.y_N[test_idx]).sum())
    log(f"fold {fold_name}: {correct} / {len(test_idx)} test clips right")
  return ledger.members(), prepared

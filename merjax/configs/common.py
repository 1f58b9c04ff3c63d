"""The base every experiment config starts from (every key documented here)."""


def base_config():
  return {
      "model": {"name": None, "input_shapes": {}},
      "data": {
          "dataset": "synthetic",      # registry name (merjax/data/registry.py)
          "root": None,                # a real dataset's root folder
          "manifest": None,            # CSV path for --dataset manifest
          "protocol": None,            # label protocol name; None = every label
          "folds": "loso",             # loso | split | cross
          "test_fraction": 0.1,        # split protocol's test share (stratified)
          "train_dataset": "", "test_dataset": "",   # cross protocol
          "inputs": {"image": "onset_apex_diff"},  # model input role -> modality
          "preprocess": {"size": 64, "grayscale": False},
          "input_scale": 1.0,          # multiplies every input array
          "standardize": False,        # per fold: (x - mean) / std of its training samples
          "cache_dir": None,           # modality cache; None = $MERJAX_CACHE or ~/.cache/merjax, "" = off
          "synthetic": {},             # SyntheticConfig overrides
          "options": {},               # extra loader options for real datasets
      },
      "train": {
          "epochs": 10,
          "total_steps": 0,            # > 0: train each member this many optimizer steps (overrides epochs)
          "batch_size": 32,
          "optimizer": {"name": "adam", "learning_rate": 1e-3, "weight_decay": 0.0},
          "loss": {"name": "cross_entropy"},
          "augment": {},               # {"flip", "rotate_deg", "translate_px"}
          "selection": {"rule": "last", "val_subjects": 1, "patience": 10},
          "strategy": "sequential",    # vmap | sequential | chunked (see docs/benchmarks.md)
          "group_size": 0,             # members per compiled call; 0 = auto (memory estimate)
          "checkpoint_every": 5,       # epochs between checkpoints of the group in flight; 0 = none
          "save_final": True,          # keep each fold model (checkpoints/final) for experiments.predict
          "chunk": 2,                  # members per vmap chunk for "chunked"
          "seed": 0,
          "seeds": 1,
          "eval_batch_size": 64,
          "param_dtype": "float32",
      },
  }

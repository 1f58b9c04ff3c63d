#!/usr/bin/env bash
# The GPU benchmark runs behind docs/benchmarks.md, one section per device call:
#
#   bash tools/bench_gpu.sh trainer   # MEGANet, FDP and DIANet fold-parallel strategies
#   bash tools/bench_gpu.sh inputs    # modality kernels + whole stage, STSTNet 68 folds, README main job
#   bash tools/bench_gpu.sh profile   # DFR-Net Tables 5/7/9 parameters, FLOPs, GPU latency
#   bash tools/bench_gpu.sh loso      # the LOSO goals: STSTNet 68 x 800 epochs (< 30 s), MEGANet
#                                     # 26 x 50 (< 3 min), FDP 26 folds (< 10 min), whole processes
#
# Each step runs under its own `timeout` so one slow step cannot take the others'
# results with it; output goes to stdout and, when OUT is set, to $OUT/<section>.md.
# Run from the repository root with jax (CUDA) installed.
set -u -o pipefail
export PYTHONUNBUFFERED=1
section="${1:?usage: bench_gpu.sh trainer|inputs|dianet|loso|profile}"
log="${OUT:-/tmp}/${section}.md"
: > "$log"

step() {  # step <seconds> <command...>
  local limit="$1"; shift
  echo "## \$ $*" | tee -a "$log"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | grep --line-buffered -v '^  group ' | tee -a "$log"
  echo "(exit ${PIPESTATUS[0]}, ${SECONDS}-${t0} = $((SECONDS - t0)) s wall)" | tee -a "$log"
}

# OpenCV's TV-L1 (the inputs section's reference) needs opencv-contrib; the GPU image has only the
# plain wheel, so a carried one (the device tool's `carry: [".whl"]`) is installed first when present.
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())"
} 2>&1 | tee -a "$log"

case "$section" in
  trainer)
    meganet="--model meganet --folds 26 --per-subject 10 --batch 32 --epochs 3"
    step 100 python3 tools/bench_trainer.py $meganet --strategies sequential
    step 100 python3 tools/bench_trainer.py $meganet --strategies sequential --dtype bfloat16
    step 160 python3 tools/bench_trainer.py $meganet --strategies sequential,chunked,vmap:4 \
      --chunk 2 --dtype bfloat16 --attention-impl fused
    fdp="--model fdp --folds 26 --per-subject 10 --batch 36 --epochs 3"
    step 120 python3 tools/bench_trainer.py $fdp --strategies sequential,vmap:26
    step 120 python3 tools/bench_trainer.py $fdp --strategies sequential,vmap:26 --dtype bfloat16
    ;;
  inputs)
    step 240 python3 tools/bench_modalities.py --clips 256 --frames 64 --size 128 --repeats 3 \
      --flow-pairs 256 --cv2-pairs 32 --flow-repeats 3 --stage-clips 255 --stage-batch 64 \
      --device-note H100
    step 100 python3 tools/bench_trainer.py --model ststnet --folds 68 --per-subject 7 \
      --batch 256 --epochs 3 --strategies sequential,vmap --project-subjects 68 --project-clips 442
    step 200 python3 -m experiments.loso --model ststnet --dataset synthetic --workdir /tmp/readme-main \
      train.epochs=40 train.batch_size=32 train.optimizer.learning_rate=1e-3
    ;;
  dianet)
    step 200 python3 tools/bench_trainer.py --model dianet --folds 26 --per-subject 10 --batch 32 \
      --epochs 3 --strategies sequential,vmap:2
    step 200 python3 tools/bench_trainer.py --model dianet --folds 26 --per-subject 10 --batch 32 \
      --epochs 3 --strategies sequential,vmap:2 --dtype bfloat16
    ;;
  loso)
    # Whole STSTNet composite LOSO (442 clips, 68 subjects, batch 256) at the paper's 800 epochs, one
    # process per row, compile and peak RSS reported (goal: < 30 s). No torch row: the image's torch
    # is a CPU build and its loop would take over an hour here.
    step 240 python3 tools/bench_vs_torch.py --folds 68 --epochs 800 --repeats 1 \
      --runs vmap:68,vmap:34,sequential
    # MEGANet 26 folds at 224 x 224, batch 32: ms per fold-step and the projected 26 x 50-epoch LOSO.
    step 150 python3 tools/bench_trainer.py --model meganet --folds 26 --per-subject 10 --batch 32 \
      --epochs 2 --strategies sequential,vmap:2 --dtype bfloat16 --project-epochs 50
    # FDP (paper size) 26 folds: the projected CASME II LOSO (goal: < 10 min).
    step 150 python3 tools/bench_trainer.py --model fdp --folds 26 --per-subject 10 --batch 36 \
      --epochs 2 --strategies sequential,vmap:26 --project-epochs 100
    ;;
  profile)
    step 400 python3 -m experiments.profile --all-dfrnet-configs --runs 100
    ;;
  *) echo "unknown section $section" >&2; exit 2 ;;
esac

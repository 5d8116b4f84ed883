#!/usr/bin/env bash
# Every open GPU measurement in one call of at most about 8 minutes (a GPU loan of about 15 minutes,
# machine start included, leaves room for a rerun). Most decisive first; each part has its own time limit, and each script writes its JSON as
# it goes, so a cut-off call still returns what it measured. Results land in ${OUT:-gpu_out}/.
#
#   OUT=/some/dir bash benchmarks/gpu_measurements.sh
#
# 1. bench_stacked_gpu.py: the captured step of K ResNet-32s stacked as grouped convolutions (does
#    stacking multiply throughput?), ≤ 70 s;
# 2. bench_gpu.py: K runs on K streams in one process and K stacked runs, trained by the real trainer
#    (aggregate img/s, the hours of Table 1's real sweep at those rates), a full 200-epoch run with
#    graphs, the reference pipeline for the ratio, a captured vs an eager input-mixup run, ≤ 225 s;
# 3. bench_gpu_variants.py: graphs vs compile_graphs x bf16/fp32 x NHWC/NCHW (ms/step, kernels/step), ≤ 115 s;
# 4. the gpu-marked tests (streams and stacks, mixup ones included, equal solo runs; captured and compiled
#    steps equal eager), ≤ 75 s.
set -u
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version())" >> "$OUT/gpu.txt" 2>&1
t0=$(date +%s)
part() { echo "=== $1 (t=$(( $(date +%s) - t0 )) s)"; }

part "1 stacked step"
timeout 70 python3 benchmarks/bench_stacked_gpu.py --json "$OUT/stacked_step.json" --ks 2,4,8,16 --budget-s 55 \
    > "$OUT/stacked_step.txt" 2>&1; tail -12 "$OUT/stacked_step.txt"

part "2 trainer: streams, stacks, full run, reference"
timeout 225 python3 benchmarks/bench_gpu.py --json "$OUT/trainer.json" --skip eager,concurrent,profile \
    --inprocess 4 --stacked 4,8,16 --k-epochs 10 --ref-epochs 2 > "$OUT/trainer.txt" 2>&1; tail -12 "$OUT/trainer.txt"

part "3 step variants"
timeout 115 python3 benchmarks/bench_gpu_variants.py --json "$OUT/variants.json" --budget-s 60 --grace-s 45 \
    > "$OUT/variants.txt" 2>&1; tail -20 "$OUT/variants.txt"

part "4 gpu tests"
timeout 75 python3 -m pytest -q -m gpu tests/train > "$OUT/gpu_tests.txt" 2>&1; tail -8 "$OUT/gpu_tests.txt"
part "done"

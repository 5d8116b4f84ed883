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
#
# The interpreter is ${PYTHON:-python} (the one of the active environment, never whatever python3 comes first
# on PATH). The exit status is 0 when at least one part succeeded, 1 when every part failed; the parts that
# failed are listed at the end either way.
set -u
OUT=${OUT:-gpu_out}
PY=${PYTHON:-python}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import torch; print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version())" >> "$OUT/gpu.txt" 2>&1
t0=$(date +%s)
failed=()
passed=0
part() { echo "=== $1 (t=$(( $(date +%s) - t0 )) s)"; }
# run NAME LOG TAIL CMD...: one part under its own limit; a non-zero status (a timeout included) marks it failed
run() {
    local name=$1 log=$2 tail_n=$3
    shift 3
    "$@" > "$log" 2>&1
    local rc=$?
    tail -"$tail_n" "$log"
    if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else failed+=("$name (exit $rc)"); fi
}

part "1 stacked step"
run "1 stacked step" "$OUT/stacked_step.txt" 12 \
    timeout 70 "$PY" benchmarks/bench_stacked_gpu.py --json "$OUT/stacked_step.json" --ks 2,4,8,16 --budget-s 55

part "2 trainer: streams, stacks, full run, reference"
run "2 trainer" "$OUT/trainer.txt" 12 \
    timeout 225 "$PY" benchmarks/bench_gpu.py --json "$OUT/trainer.json" --skip eager,concurrent,profile \
    --inprocess 4 --stacked 4,8,16 --k-epochs 10 --ref-epochs 2

part "3 step variants"
run "3 step variants" "$OUT/variants.txt" 20 \
    timeout 115 "$PY" benchmarks/bench_gpu_variants.py --json "$OUT/variants.json" --budget-s 60 --grace-s 45

part "4 gpu tests"
run "4 gpu tests" "$OUT/gpu_tests.txt" 8 timeout 75 "$PY" -m pytest -q -m gpu tests/train
part "done"
if [ "${#failed[@]}" -gt 0 ]; then
    printf 'failed: %s\n' "${failed[@]}"
fi
echo "$passed of $((passed + ${#failed[@]})) parts succeeded"
[ "$passed" -gt 0 ]

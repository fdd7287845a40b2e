#!/usr/bin/env bash
# Runs on the GPU machine, inside the unpacked bundle (bundle.sh): every kernel measurement
# the expert-GEMM docs leave outstanding, in one go, each checked against its float64
# reference before it is timed. Writes results/<name>.json and results/summary.txt.
#   tar xf gpu-bundle.tar && cd gpu-bundle && bash run-on-gpu.sh [--smoke]
# --smoke: tiny shapes and one run each (checks the bundle itself, e.g. on SwiftShader).
# VK_DRIVER_FILES: set it to the GPU's ICD JSON, else the usual NVIDIA locations are tried.
# The tuning cache: results/tuning.json (DWDP_TUNING_CACHE=<file> moves it; 'off' is refused).
# Per shape, the sweep runs first and records its winner there; the plain run after it and
# bench:kernels at the end use that winner (each says 'tuned'; a plain run that does not is a
# failure). A cache file that cannot be written stops the script before any measurement.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
[ -x ./node ] || { xz -dc node.xz > node && chmod +x node; }
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 && ls debs/*.deb >/dev/null 2>&1; then
  mkdir -p vulkan && for d in debs/*.deb; do dpkg-deb -x "$d" vulkan; done
  export LD_LIBRARY_PATH="$here/vulkan/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$f" ] && export VK_DRIVER_FILES="$f" && break
  done
fi
mkdir -p results
: > results/summary.txt
export DWDP_TUNING_CACHE="${DWDP_TUNING_CACHE:-$here/results/tuning.json}"
cache="$DWDP_TUNING_CACHE"
if [ "$cache" = off ]; then
  echo "error: DWDP_TUNING_CACHE=off: this script's sweeps must record their winners; name a file or leave it unset" >&2
  exit 1
fi
# Writable before anything is measured: its folder (created) takes a probe file, an existing cache is writable.
if ! { mkdir -p "$(dirname "$cache")" && probe="$(dirname "$cache")/.probe-$$" && : > "$probe" && rm -f "$probe" &&
  { [ ! -e "$cache" ] || [ -w "$cache" ]; }; } 2>/dev/null; then
  echo "error: the tuning cache $cache (DWDP_TUNING_CACHE) cannot be written; set DWDP_TUNING_CACHE to a writable file" >&2
  exit 1
fi
echo "tuning cache: $cache" | tee -a results/summary.txt
runs=10
bench=(--tokens 256 --hidden 512 --expert-hidden 256 --experts 32 --topk 4)
# R1-like: thousands of tokens, R1's H and F (7168, 2048), fewer experts (8: f32 weights 1.4 GB in one binding), top-8.
r1=(--tokens 2048 --hidden 7168 --expert-hidden 2048 --experts 8 --topk 8)
r1router=(--tokens 4096 --hidden 7168 --experts 256 --topk 8 --scoring sigmoid)
if [ "$smoke" = 1 ]; then
  runs=1
  bench=(--tokens 16 --hidden 64 --expert-hidden 32 --experts 4 --topk 2)
  r1=(--tokens 32 --hidden 128 --expert-hidden 64 --experts 4 --topk 2)
  r1router=(--tokens 32 --hidden 128 --experts 16 --topk 4 --scoring sigmoid)
fi
failed=0
lab() { # name, then lab arguments
  local name="$1"; shift
  echo "== $name: lab $*" | tee -a results/summary.txt
  if ./node bundle/cli/lab.mjs "$@" --seed 1 --json > "results/$name.json" 2> "results/$name.log"; then
    ./node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const pick = (x) => ({ adapter: x.adapter, variant: x.variant ?? x.best?.variant, variantSource: x.variantSource,
        recordedIn: x.recordedIn, medianMs: x.medianMs ?? x.best?.medianMs,
        gflops: x.gflops ?? x.best?.gflops, fractionOfCeiling: x.fractionOfCeiling, checkOk: x.checkOk });
      console.log("   " + JSON.stringify(pick(r)));' "results/$name.json" >> results/summary.txt 2>/dev/null || true
  elif grep -q "which this adapter lacks\|this adapter has none\|has no .* subgroup-matrix config\|runs on quads of subgroup lanes" \
    "results/$name.log" 2>/dev/null; then
    # A variant this adapter cannot run (':f16' without shader-f16, 'sgm' without subgroup
    # matrices or without a config of its operand type, ':quad' where subgroups are not whole
    # quads or not whole in its workgroup): the reason, not a failure.
    echo "   SKIPPED: $(grep -o "needs [^(]*\|has no [^(]*\|runs on quads of subgroup lanes: [^(]*" "results/$name.log" | head -1)" |
      tee -a results/summary.txt
  else
    failed=$((failed + 1)); echo "   FAILED (results/$name.log)" | tee -a results/summary.txt; tail -3 "results/$name.log"
  fi
}
sweep() { # name, then lab arguments: a sweep whose winner must land in the tuning cache
  local name="$1" before="$failed"; shift
  lab "$name" "$@" --sweep
  [ "$failed" != "$before" ] && return
  if ! ./node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      process.exit(r.recordedIn === require("path").resolve(process.argv[2]) ? 0 : 1);' "results/$name.json" "$cache"; then
    failed=$((failed + 1)); echo "   FAILED: the sweep did not record its winner in $cache (results/$name.json)" | tee -a results/summary.txt
  fi
}
tuned() { # name, then lab arguments: a run after its shape's sweep, which must use the winner
  local name="$1" before="$failed"; shift
  lab "$name" "$@"
  [ "$failed" != "$before" ] && return
  if ! ./node -e 'process.exit(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).variantSource === "tuned" ? 0 : 1)' \
    "results/$name.json"; then
    failed=$((failed + 1)); echo "   FAILED: did not use the tuned variant from $cache (results/$name.json)" | tee -a results/summary.txt
  fi
}
lab peak peak --runs "$runs"
lab copy copy --runs "$runs"
for w in f32 int8 fp8 nvfp4; do
  # The sweep first (it includes the `wg`, with shader-f16 the `:f16`, with subgroup matrices the
  # `sgm`, with subgroups of a multiple of 4 lanes the sx4/sw4 `:quad` candidates): its winner, recorded in the tuning cache, is what the plain run after it
  # and bench:kernels at the end use.
  sweep "gemm-bench-$w-sweep" expert-gemm "${bench[@]}" --weights "$w" --runs 3
  tuned "gemm-bench-$w" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs"
  # Workgroup-memory tiles (each weight decoded once per workgroup), f32 and f16 operands;
  # without shader-f16 the f16 run is reported SKIPPED with the reason.
  lab "gemm-bench-$w-wg" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant wg:8x4:8x16
  lab "gemm-bench-$w-wg-f16" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant wg:8x4:8x16:f16
  # Subgroup-matrix tiles (M×N×K picked from the adapter's subgroupMatrixConfigs), f32 and f16
  # operands, f32 results; SKIPPED with the reason where the adapter lacks the feature or a config.
  lab "gemm-bench-$w-sgm" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant sgm:2x2
  lab "gemm-bench-$w-sgm-f16" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant sgm:2x2:f16
  # Quads (sx4/sw4 on groups of 4 lanes of the GPU's subgroups, subgroupShuffle), 64 invocations
  # (whole subgroups of 32 or 64 lanes); SKIPPED with the reason where subgroups are not whole quads.
  lab "gemm-bench-$w-sx4-quad" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant sx4:8x4:4x4:quad
  lab "gemm-bench-$w-sw4-quad" expert-gemm "${bench[@]}" --weights "$w" --runs "$runs" --variant sw4:4x8:4x4:quad
  sweep "gemm-r1-$w-sweep" expert-gemm "${r1[@]}" --weights "$w" --runs 3
  tuned "gemm-r1-$w" expert-gemm "${r1[@]}" --weights "$w" --runs "$runs"
  lab "gemm-r1-$w-wg" expert-gemm "${r1[@]}" --weights "$w" --runs "$runs" --variant wg:8x4:8x16
  lab "gemm-r1-$w-wg-f16" expert-gemm "${r1[@]}" --weights "$w" --runs "$runs" --variant wg:8x4:8x16:f16
  lab "gemm-r1-$w-sgm" expert-gemm "${r1[@]}" --weights "$w" --runs "$runs" --variant sgm:2x2
  lab "gemm-r1-$w-sgm-f16" expert-gemm "${r1[@]}" --weights "$w" --runs "$runs" --variant sgm:2x2:f16
done
lab router router "${bench[@]}" --runs "$runs"
lab router-r1 router "${r1router[@]}" --runs "$runs"
# The grouped GEMM beside tfjs-backend-webgpu's matMul on the same GPU (per expert and one
# dense matmul of equal FLOPs), the naive kernel and the FMA ceiling: bench:kernels, bundled.
# Benchmark shape: every tile kind per format; R1-like: the defaults (its float64 checks cost seconds each).
# Its grouped rows use the sweeps' winners from the tuning cache (each progress line names the
# variant and 'tuned here on …'; those lines go into summary.txt too).
kbench() { # name, then bench:kernels arguments
  local name="$1"; shift
  echo "== $name: bench:kernels $*" | tee -a results/summary.txt
  if ./node bundle/bench/kernels.mjs "$@" --runs "$runs" --out "results/$name.json" > "results/$name.log" 2>&1; then
    { grep '^peer: ' "results/$name.log"; grep -E '^  .*; variant ' "results/$name.log"
      sed -n '/^kernel /,/^All numbers/p' "results/$name.log" | grep -v '^All numbers'; } |
      sed 's/^/   /' >> results/summary.txt
  else
    failed=$((failed + 1)); echo "   FAILED (results/$name.log)" | tee -a results/summary.txt; tail -3 "results/$name.log"
  fi
}
if [ "$smoke" = 1 ]; then
  kbench bench-kernels-tiny --shapes tiny --formats f32,nvfp4
else
  kbench bench-kernels --shapes bench
  kbench bench-kernels-r1 --shapes r1 --variants default
fi
echo "done: $failed failed; results in $here/results (summary.txt)" | tee -a results/summary.txt
exit $((failed > 0))

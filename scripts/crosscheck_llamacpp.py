#!/usr/bin/env python3
"""Driver for scripts/crosscheck-llamacpp: builds the test models, then compares Understudy with llama.cpp."""
import argparse
import json
import os
import random
import subprocess
import sys
import sysconfig

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llamacpp_peer  # noqa: E402


def run(*args, capture=False):
    result = subprocess.run([str(a) for a in args], check=True, text=capture,
                            stdout=subprocess.PIPE if capture else None)
    return result.stdout if capture else None


def sample_files(count, seed):
    """Real source files that are valid UTF-8: Python's standard library and the Swift package mirror."""
    stdlib = sysconfig.get_paths()["stdlib"]
    files = []
    for root, dirs, names in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "test", "idlelib", "__pycache__")]
        files += [os.path.join(root, n) for n in names if n.endswith(".py")]
    mirror = "/opt/swift-packages"
    swift_sources = []
    if os.path.isdir(mirror):
        for owner in sorted(os.listdir(mirror))[:12]:
            for repo in sorted(os.listdir(os.path.join(mirror, owner)))[:3]:
                git_dir = os.path.join(mirror, owner, repo)
                try:
                    listing = run("git", "-C", git_dir, "ls-tree", "-r", "--name-only", "HEAD", capture=True)
                except subprocess.CalledProcessError:
                    continue
                swift_sources += [(git_dir, p) for p in listing.split("\n") if p.endswith(".swift")][:10]
    rng = random.Random(seed)
    picked = rng.sample(files, min(count // 2, len(files)))
    out = []
    for path in picked:
        data = open(path, "rb").read()
        out.append((path, data))
    for git_dir, path in rng.sample(swift_sources, min(count - len(out), len(swift_sources))):
        data = subprocess.run(["git", "-C", git_dir, "show", f"HEAD:{path}"], check=True,
                              stdout=subprocess.PIPE).stdout
        out.append((f"{git_dir}:{path}", data))
    # Cases real files rarely hold: long digit strings, non-ASCII letters, digits and spaces, long runs
    # of spaces, tabs and blank lines, CRLF, contractions in both cases.
    out += [
        ("synthetic:digits", b"x = 1234567890123; y = 0.000001e-10; ids = [12, 345, 6789]\n" * 3),
        ("synthetic:unicode", "caf\u00e9 na\u00efve \u4e2d\u6587 \u0663\u00bd\u2160 \u00a0nbsp \u2028 emoji \U0001F600 "
                              "\u0394x = \u03b1\u00b2 // \u00abquoted\u00bb\n".encode("utf-8")),
        ("synthetic:whitespace", b"def f():\n" + b" " * 40 + b"return 1\n\n\n\n\t\t\tx\r\n\r\n   \n" + b" " * 200 + b"\n"),
        ("synthetic:contractions", b"I'M don't WE'LL they'Re it's 'quoted' x'y\n"),
    ]
    valid = []
    for name, data in out:
        try:
            data.decode("utf-8")
            valid.append((name, data))
        except UnicodeDecodeError:
            pass  # llama.cpp replaces invalid UTF-8 with U+FFFD; we keep the bytes (documented difference)
    return valid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--understudy", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--model", help="a GGUF to check instead of a random one: an F32 file is also quantized "
                    "here to Q8_0 and Q4_0; any other file (e.g. a downloaded model) is checked as it is")
    ap.add_argument("--tokens-only", action="store_true",
                    help="only (b), the token ids (for a file whose tensor types we cannot run yet)")
    ap.add_argument("--as-pre", action="append", default=[], metavar="NAME",
                    help="with --tokens-only: also check the model's vocabulary relabelled with this "
                         "tokenizer.ggml.pre (repeatable; 'none' drops the key), to test pre-tokenizers no "
                         "downloaded file here uses")
    ap.add_argument("--requantize", default="", metavar="TYPES",
                    help="also check the files llama.cpp's own quantizer makes from the model (comma-separated "
                         "llama-quantize types, e.g. q8_0,q4_k_m,q5_k_m,q6_k); a quantized model is first "
                         "dequantized to F16 with the gguf package")
    ap.add_argument("--random-qwen2", action="store_true",
                    help="check a random-weight qwen2 model (Q/K/V biases, tied output) written with the gguf "
                         "package in --model's vocabulary, instead of --model itself")
    ap.add_argument("--fim", action="store_true",
                    help="compare logits over a FIM prompt (prefix, suffix, middle in the model's own FIM "
                         "tokens) instead of plain file text")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse logits files a previous run left in the work directory (same models and tokens)")
    args = ap.parse_args()
    us, work = args.understudy, args.work
    requantize = [t for t in args.requantize.split(",") if t]

    models = {}
    if args.model and args.tokens_only:
        tokenize_check(us, work, args.model, args.files)
        for pre in args.as_pre:
            relabelled = os.path.join(work, f"vocab-{pre}.gguf")
            llamacpp_peer.write_vocabulary(args.model, relabelled, None if pre == "none" else pre)
            print(f"  (vocabulary relabelled as pre-tokenizer '{pre}')")
            tokenize_check(us, work, relabelled, args.files)
        return
    given_type = llamacpp_peer.tensor_type_label(args.model) if args.model and not args.random_qwen2 else None
    if args.random_qwen2:
        if not args.model:
            raise SystemExit("--random-qwen2 needs --model: the file whose vocabulary the random model gets")
        model = os.path.join(work, "random-qwen2-f32.gguf")
        if not (args.reuse and os.path.exists(model)):
            llamacpp_peer.write_random_qwen2(args.model, model)
        models["F32"] = model
        float_source = model
        print("== (a) the gguf package reads the random qwen2 file (written with it)")
    elif given_type not in (None, "F32"):
        model = args.model
        models[f"{given_type} (as given)"] = model
        float_source = None
        print("== (a) the gguf package reads the file")
    else:
        model = None
    if model is not None:
        for t in requantize:
            if float_source is None:
                float_source = os.path.join(work, "model-f16.gguf")
                if not (args.reuse and os.path.exists(float_source)):
                    run(sys.executable, os.path.join(HERE, "dequantize_gguf.py"), model, float_source, "--type", "f16")
                models["F16"] = float_source
            path = os.path.join(work, f"model-llamacpp-{t}.gguf")
            if not (args.reuse and os.path.exists(path)):
                llamacpp_peer.quantize(float_source, path, t)
            models[f"{t.upper()} (llama.cpp)"] = path
        llamacpp_peer.read_gguf(list(models.values()))
        tokenize_check(us, work, model, args.files)
        logits_check(us, work, model, models, args.tokens, args.fim, args.reuse)
        return
    if args.model:
        # A given (trained) model: its own tokenizer, and its quantizations made here.
        f32 = tok = args.model
    else:
        # A tokenizer trained on part of Python's standard library, then a random model in three types.
        tok = os.path.join(work, "tokenizer.gguf")
        if not os.path.exists(tok):
            run(us, "tokenizer", "train", "--data", sysconfig.get_paths()["stdlib"], "--vocab-size", 8192, "-o", tok)
        f32 = os.path.join(work, "model-f32.gguf")
        run(us, "init-model", "--tokenizer", tok, "--dim", 288, "--hidden", 768, "--layers", 6, "--heads", 6,
            "--type", "f32", "-o", f32)
    models["F32"] = f32
    for t in ("q8_0", "q4_0"):
        models[t.upper()] = os.path.join(work, f"model-{t}.gguf")
        run(us, "quantize", f32, models[t.upper()], "--type", t)

    print("== (a) the gguf package reads our files")
    llamacpp_peer.read_gguf(list(models.values()))

    tokenize_check(us, work, f32, args.files)
    logits_check(us, work, tok, models, args.tokens, args.fim, args.reuse)


def tokenize_check(us, work, model, count):
    print(f"\n== (b) tokenization of {count} real source files and a few synthetic ones (parse_special off)")
    samples = sample_files(count, seed=7)
    paths = []
    for i, (name, data) in enumerate(samples):
        path = os.path.join(work, f"sample-{i}.txt")
        open(path, "wb").write(data)
        paths.append(path)
    # llama.cpp loads the vocabulary once for all files.
    theirs_all = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "llamacpp_peer.py"), "tokenize", model, *paths],
                                           check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                           text=True).stdout)
    same = differ = tokens = 0
    for (name, data), path, theirs in zip(samples, paths, theirs_all):
        ours = json.loads(run(us, "tokenizer", "encode", "--model", model, "--file", path, capture=True))
        tokens += len(theirs)
        if ours == theirs:
            same += 1
        else:
            differ += 1
            first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            print(f"  differs: {name} ({len(ours)} vs {len(theirs)} tokens; first at {first}: "
                  f"ours {ours[first:first + 5]} llama.cpp {theirs[first:first + 5]})")
    print(f"  identical ids: {same}/{same + differ} files ({tokens} tokens)")


def encode(us, work, tok, data, name="piece"):
    path = os.path.join(work, f"{name}.txt")
    open(path, "wb").write(data)
    return json.loads(run(us, "tokenizer", "encode", "--model", tok, "--file", path, capture=True))


def fim_token_ids(tok):
    """The model's prefix, suffix and middle tokens, by their spellings in its vocabulary."""
    import gguf
    field = gguf.GGUFReader(tok).fields["tokenizer.ggml.tokens"]
    index = {bytes(field.parts[i]).decode("utf-8", "replace"): n for n, i in enumerate(field.data)}
    for spelling in (("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
                     ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
                     ("<fim-prefix>", "<fim-suffix>", "<fim-middle>")):
        if all(s in index for s in spelling):
            return [index[s] for s in spelling]
    raise SystemExit(f"--fim: {tok} has no FIM tokens")


def fim_prompt(us, work, tok, data, n_tokens):
    """PSM: <prefix> text before a cut <suffix> text after the hole <middle> the hole, about n_tokens in all.

    The cuts fall at line starts, as a cursor at a line's start would make them; the hole is the middle's
    few lines, which the model is scored on reproducing token by token."""
    pre, suf, mid = fim_token_ids(tok)
    lines = data.splitlines(keepends=True)
    start = max(1, len(lines) // 3)
    prefix = b"".join(lines[:start])
    middle = b"".join(lines[start:start + 6])
    suffix = b"".join(lines[start + 6:])
    budget = n_tokens - 3
    prefix_ids = encode(us, work, tok, prefix, "fim-prefix")[-(budget * 4 // 10):]
    middle_ids = encode(us, work, tok, middle, "fim-middle")[: budget * 2 // 10]
    suffix_ids = encode(us, work, tok, suffix, "fim-suffix")[: budget - len(prefix_ids) - len(middle_ids)]
    return [pre] + prefix_ids + [suf] + suffix_ids + [mid] + middle_ids


def logits_check(us, work, tok, models, n_tokens, fim=False, reuse=False):
    what = "a FIM prompt (PSM, the model's own FIM tokens) over real code" if fim else "real code"
    print(f"\n== (c) next-token logits over {n_tokens} tokens of {what} (llama.cpp with its default F16 KV cache, as ours)")
    print("  'decisive' positions: llama.cpp's top two logits differ by more than twice the largest logit difference")
    name, data = sample_files(4, seed=11)[0]
    if fim:
        ids = fim_prompt(us, work, tok, data, n_tokens)
    else:
        ids = encode(us, work, tok, data, "logits-source")[:n_tokens]
    ids_path = os.path.join(work, "ids.json")
    json.dump(ids, open(ids_path, "w"))
    for label, model in models.items():
        key = "".join(c if c.isalnum() else "-" for c in label)
        theirs_by_mode = {}
        for mode in ("batch", "sequential"):
            ours_path = os.path.join(work, f"ours-{key}-{mode}.f32")
            theirs_path = os.path.join(work, f"theirs-{key}-{mode}.f32")
            extra = ["--sequential"] if mode == "sequential" else []
            if not (reuse and os.path.exists(ours_path)):
                run(us, "dump-logits", "--model", model, "--tokens", ids_path, "-o", ours_path, "--threads", 2, *extra)
            if not (reuse and os.path.exists(theirs_path)):
                run(sys.executable, os.path.join(HERE, "llamacpp_peer.py"), "logits", model, ids_path, theirs_path, *extra)
            ours = np.fromfile(ours_path, dtype=np.float32).reshape(len(ids), -1)
            theirs = theirs_by_mode[mode] = np.fromfile(theirs_path, dtype=np.float32).reshape(len(ids), -1)
            spread = theirs.max(1) - theirs.min(1)
            diff = np.abs(ours - theirs).max(1)
            agree = ours.argmax(1) == theirs.argmax(1)
            top2 = np.sort(theirs, 1)[:, -2:]
            gap = top2[:, 1] - top2[:, 0]
            decisive = gap > 2 * diff      # positions where the two results cannot swap the winner
            print(f"  {label:18} {mode:10} max |diff| / logit range {np.max(diff / spread):.2e}   "
                  f"same argmax {agree.mean() * 100:6.2f}%   on decisive positions {agree[decisive].mean() * 100:6.2f}% "
                  f"({decisive.sum()}/{len(ids)})   {nll_line(ours, theirs, ids)}")
        # The noise floor: llama.cpp's own batch and token-by-token paths round differently too.
        batch, seq = theirs_by_mode["batch"], theirs_by_mode["sequential"]
        print(f"  {label:18} llama.cpp batch vs its own sequential: max |diff| / range "
              f"{np.max(np.abs(batch - seq).max(1) / (batch.max(1) - batch.min(1))):.2e}   "
              f"same argmax {(batch.argmax(1) == seq.argmax(1)).mean() * 100:6.2f}%   {nll_line(seq, batch, ids)}")


def mean_nll(logits, ids):
    """Mean negative log-likelihood (nats) of each next token of `ids` under the logits before it."""
    rows = logits[:-1].astype(np.float64)
    top = rows.max(1, keepdims=True)
    log_z = np.log(np.exp(rows - top).sum(1)) + top[:, 0]
    return float(np.mean(log_z - rows[np.arange(len(ids) - 1), ids[1:]]))


def nll_line(logits, reference, ids):
    """How far two runs' likelihoods of the text itself are apart (`logits` against `reference`): the
    measure bits per byte rests on, which rounding noise in single logits barely moves when both
    compute the same function."""
    nll, reference_nll = mean_nll(logits, ids), mean_nll(reference, ids)
    return f"NLL {nll:.4f} / {reference_nll:.4f} nats ({(nll - reference_nll) / reference_nll * 100:+.2f}%)"


if __name__ == "__main__":
    main()

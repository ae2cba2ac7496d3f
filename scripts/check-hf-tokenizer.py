#!/usr/bin/env python3
"""Cross-check our BPE tokenizer against Hugging Face `tokenizers` and llama.cpp.

Input is the directory written by the opt-in Swift benchmark
(UNDERSTUDY_TOKENIZER_OUT=DIR UNDERSTUDY_TOKENIZER_BENCH=SRC swift test ... --filter TokenizerBenchmarkTests):
  tokenizer.json   our TrainedVocabulary.huggingFaceJSON()
  vocabulary.json  the GGUF tokenizer arrays (tokens, merges, token_types, pre)
  samples.json     [{"path": ..., "ids": [...]}] — what our Swift encoder produced for each file

Hugging Face: loads tokenizer.json and encodes each file's text without special tokens.
llama.cpp (if llama_cpp and gguf are importable): writes a vocab-only GGUF from vocabulary.json and
tokenizes each file's bytes with add_bos=False, special=False (parse_special off).
Extra strings (accents, CJK, emoji, odd whitespace) are checked for both via --extra-ids.

Usage: check-hf-tokenizer.py DIR [--limit N] [--match PATH-SUBSTRING]
"""
import argparse
import json
import os
import sys
import tempfile

SPECIAL_TEXTS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]


def load_samples(directory, limit, match):
    with open(os.path.join(directory, "samples.json")) as f:
        samples = json.load(f)
    if match:
        samples = [s for s in samples if match in s["path"]]
    return samples[:limit] if limit else samples


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def report(name, checked, mismatches, skipped):
    print(f"{name}: {checked - len(mismatches)}/{checked} files identical, {skipped} skipped")
    for path, index, ours, theirs in mismatches[:5]:
        print(f"  MISMATCH {path} at token {index}: ours {ours[index:index + 8]} theirs {theirs[index:index + 8]}")
    return not mismatches


def check_hf(directory, samples):
    try:
        from tokenizers import Tokenizer
    except ImportError:
        print("Hugging Face tokenizers not installed; skipped")
        return True
    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    mismatches, skipped, checked = [], 0, 0
    for sample in samples:
        data = open(sample["path"], "rb").read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1  # HF takes str; invalid UTF-8 cannot be passed through
            continue
        if any(s in text for s in SPECIAL_TEXTS):
            skipped += 1  # HF always cuts out added special tokens; we never parse them
            continue
        checked += 1
        theirs = tokenizer.encode(text, add_special_tokens=False).ids
        if theirs != sample["ids"]:
            mismatches.append((sample["path"], first_difference(sample["ids"], theirs), sample["ids"], theirs))
    return report("huggingface tokenizers", checked, mismatches, skipped)


def write_vocab_gguf(directory, path):
    import gguf
    with open(os.path.join(directory, "vocabulary.json")) as f:
        vocab = json.load(f)
    writer = gguf.GGUFWriter(path, "llama")
    # Minimal hyperparameters so llama.cpp accepts the file; vocab_only skips all tensors.
    writer.add_context_length(512)
    writer.add_embedding_length(64)
    writer.add_feed_forward_length(128)
    writer.add_block_count(1)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab["pre"])
    writer.add_token_list(vocab["tokens"])
    writer.add_token_types(vocab["token_types"])
    writer.add_token_merges(vocab["merges"])
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)
    writer.add_add_bos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check_llama(directory, samples):
    try:
        import llama_cpp  # noqa: F401
        import gguf  # noqa: F401
    except ImportError:
        print("llama_cpp or gguf not installed; skipped")
        return True
    from llama_cpp import Llama
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vocab.gguf")
        write_vocab_gguf(directory, path)
        llama = Llama(model_path=path, vocab_only=True, verbose=False)
        mismatches, skipped, checked = [], 0, 0
        for sample in samples:
            data = open(sample["path"], "rb").read()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                skipped += 1  # llama.cpp turns invalid bytes into U+FFFD; we keep them
                continue
            checked += 1
            theirs = llama.tokenize(data, add_bos=False, special=False)
            if theirs != sample["ids"]:
                mismatches.append((sample["path"], first_difference(sample["ids"], theirs), sample["ids"], theirs))
        return report("llama.cpp (llama-cpp-python)", checked, mismatches, skipped)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--limit", type=int, default=0, help="check only the first N files")
    parser.add_argument("--match", default="", help="check only files whose path contains this")
    args = parser.parse_args()
    samples = load_samples(args.directory, args.limit, args.match)
    ok = check_hf(args.directory, samples)
    ok = check_llama(args.directory, samples) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

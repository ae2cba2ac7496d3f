#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) as a peer for Understudy's cross-checks and benchmarks.

Subcommands:
  read-gguf FILE...                 list what the `gguf` package reads from each file
  tokenize MODEL FILE...            print llama.cpp's token ids for each file's bytes (JSON)
  logits MODEL IDS_JSON OUT         write llama.cpp's logits after every token (float32 rows)
  bench MODEL [-p 512] [-n 128] [-r 5] [-t 2]
                                    pp/tg tokens/s measured inside llama.cpp (its perf counters)
  quantize SRC DST TYPE             llama.cpp's own quantization (llama_model_quantize), e.g. Q4_K_M
  random-qwen2 VOCAB_FROM DST       a random-weight qwen2 GGUF (Q/K/V biases) in another file's vocabulary
"""
import argparse
import ctypes
import json
import os
import random
import sys
import time


def read_gguf(paths):
    import gguf
    for path in paths:
        reader = gguf.GGUFReader(path)
        arch = reader.fields["general.architecture"]
        arch_name = bytes(arch.parts[arch.data[0]]).decode()
        types = {}
        for t in reader.tensors:
            types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
        tokens = reader.fields["tokenizer.ggml.tokens"]
        print(f"{path}: gguf reads {len(reader.fields)} keys, {len(reader.tensors)} tensors {types}, "
              f"architecture {arch_name}, {len(tokens.data)} tokens")


def load(model, n_ctx=2048, logits_all=False, threads=2, kv_f32=False):
    from llama_cpp import Llama
    # Understudy keeps its KV cache in F32; llama.cpp's default is F16. The cross-check can match it.
    kv = {"type_k": 0, "type_v": 0} if kv_f32 else {}
    return Llama(model_path=model, n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=threads,
                 n_threads_batch=threads, logits_all=logits_all, verbose=False, **kv)


def tensor_type_label(path):
    """The most common matrix type of a GGUF file ("F32", "Q4_1", ...)."""
    import gguf
    counts = {}
    for t in gguf.GGUFReader(path).tensors:
        if len(t.shape) == 2:
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + int(t.n_elements)
    return max(counts, key=counts.get)


def copy_keys(reader, writer, wanted):
    """Copies the metadata keys of `reader` (a gguf.GGUFReader) for which `wanted(key)` holds, types kept."""
    import gguf
    for key, field in reader.fields.items():
        if not wanted(key):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), value_type, sub_type=sub_type)


def write_vocabulary(src, dst, pre):
    """Copies a GGUF file's metadata without its tensors, `tokenizer.ggml.pre` set to `pre` (None: no key)."""
    import gguf
    reader = gguf.GGUFReader(src)
    writer = gguf.GGUFWriter(dst, reader.fields["general.architecture"].contents())
    copy_keys(reader, writer, lambda key: not key.startswith("GGUF.")
              and key not in ("general.architecture", "tokenizer.ggml.pre"))
    if pre is not None:
        writer.add_string("tokenizer.ggml.pre", pre)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


def tokenize(model, paths):
    """Prints llama.cpp's ids for one file (a JSON list), or for several (a JSON list of lists)."""
    import llama_cpp
    # vocab_only loads just the tokenizer, as llama.cpp's own tokenize tool does.
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    m = llama_cpp.llama_model_load_from_file(model.encode(), params)
    vocab = llama_cpp.llama_model_get_vocab(m)
    results = []
    for path in paths:
        data = open(path, "rb").read()
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, cap, False, False)
        if n < 0:
            raise SystemExit(f"llama_tokenize failed: {n}")
        results.append(list(buf[:n]))
    print(json.dumps(results[0] if len(paths) == 1 else results))
    llama_cpp.llama_model_free(m)


def logits(model, ids_path, out_path, kv_f32, sequential):
    import numpy as np
    ids = json.load(open(ids_path))
    llm = load(model, n_ctx=max(64, len(ids)), logits_all=True, kv_f32=kv_f32)
    llm.reset()
    if sequential:
        for token in ids:
            llm.eval([token])
    else:
        llm.eval(ids)
    np.asarray(llm.scores[: len(ids)], dtype=np.float32).tofile(out_path)


def quantize(src, dst, type_name, threads=2):
    """llama.cpp's own quantizer, as `llama-quantize SRC DST TYPE` runs it."""
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{type_name.upper()}")
    params.nthread = threads
    # llama.cpp logs a line per tensor on stderr; keep only whether it worked.
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            status = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    if status != 0:
        raise SystemExit(f"llama_model_quantize {src} -> {type_name} failed ({status})")


def write_random_qwen2(vocab_src, dst, seed=5, dim=256, hidden=512, layers=3, heads=4, kv_heads=2):
    """A small qwen2 model with random F32 weights and Q/K/V biases, in the tokenizer of `vocab_src`.

    Scales keep the residual stream near unit size and make the logits spread over several units, so
    that most positions have a clear winner (a flat random model would compare ties). Tied output: the
    shipped Qwen2.5-Coder file has an untied one, so both layouts get checked.
    """
    import numpy as np
    import gguf
    reader = gguf.GGUFReader(vocab_src)
    writer = gguf.GGUFWriter(dst, "qwen2")
    copy_keys(reader, writer, lambda key: key.startswith("tokenizer."))
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
    writer.add_name("random qwen2 (cross-check)")
    writer.add_context_length(4096)
    writer.add_embedding_length(dim)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(hidden)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(0)
    rng = np.random.default_rng(seed)
    head_dim = dim // heads

    def matrix(rows, cols, scale=None):
        # numpy shape (rows = outputs, cols = inputs); gguf stores ne0 = cols.
        return (rng.standard_normal((rows, cols)) * (scale or cols ** -0.5)).astype(np.float32)

    def vector(n, mean=0.0, scale=0.5):
        return (mean + rng.standard_normal(n) * scale).astype(np.float32)

    writer.add_tensor("token_embd.weight", matrix(n_vocab, dim, 0.5))
    writer.add_tensor("output_norm.weight", vector(dim, 1.0, 0.1))
    for i in range(layers):
        b = f"blk.{i}."
        writer.add_tensor(b + "attn_norm.weight", vector(dim, 1.0, 0.1))
        writer.add_tensor(b + "attn_q.weight", matrix(dim, dim))
        writer.add_tensor(b + "attn_q.bias", vector(dim))
        writer.add_tensor(b + "attn_k.weight", matrix(kv_heads * head_dim, dim))
        writer.add_tensor(b + "attn_k.bias", vector(kv_heads * head_dim))
        writer.add_tensor(b + "attn_v.weight", matrix(kv_heads * head_dim, dim))
        writer.add_tensor(b + "attn_v.bias", vector(kv_heads * head_dim))
        writer.add_tensor(b + "attn_output.weight", matrix(dim, dim))
        writer.add_tensor(b + "ffn_norm.weight", vector(dim, 1.0, 0.1))
        writer.add_tensor(b + "ffn_gate.weight", matrix(hidden, dim))
        writer.add_tensor(b + "ffn_up.weight", matrix(hidden, dim))
        writer.add_tensor(b + "ffn_down.weight", matrix(dim, hidden))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def bench(model, p, n, reps, threads):
    import llama_cpp
    llm = load(model, n_ctx=max(p, n), threads=threads)
    ctx = llm.ctx
    n_vocab = llm.n_vocab()
    rng = random.Random(42)

    def decode(tokens):
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        batch = llama_cpp.llama_batch_get_one(arr, len(tokens))
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise SystemExit("llama_decode failed")

    def clear():
        mem = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_clear(mem, True)

    results = []
    for name, count, run in [
        (f"pp{p}", p, lambda toks: decode(toks)),
        (f"tg{n}", n, lambda toks: [decode([t]) for t in toks]),
    ]:
        if count == 0:
            continue
        toks = [rng.randrange(n_vocab) for _ in range(count)]
        rates = []
        for rep in range(reps + 1):
            clear()
            start = time.perf_counter()
            run(toks)
            elapsed = time.perf_counter() - start
            if rep > 0:
                rates.append(count / elapsed)
        mean = sum(rates) / len(rates)
        sd = (sum((r - mean) ** 2 for r in rates) / max(1, len(rates) - 1)) ** 0.5
        results.append((name, mean, sd))
    for name, mean, sd in results:
        print(f"| llama.cpp | {threads} | {name} | {mean:.2f} ± {sd:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("read-gguf"); a.add_argument("paths", nargs="+")
    a = sub.add_parser("tokenize"); a.add_argument("model"); a.add_argument("files", nargs="+")
    a = sub.add_parser("logits"); a.add_argument("model"); a.add_argument("ids"); a.add_argument("out")
    a.add_argument("--kv-f32", action="store_true", help="F32 KV cache (Understudy's cache is F16, llama.cpp's default, since session 8)")
    a.add_argument("--sequential", action="store_true", help="one token per decode (the generation path)")
    a = sub.add_parser("bench"); a.add_argument("model")
    a.add_argument("-p", type=int, default=512); a.add_argument("-n", type=int, default=128)
    a.add_argument("-r", type=int, default=5); a.add_argument("-t", type=int, default=2)
    a = sub.add_parser("quantize"); a.add_argument("src"); a.add_argument("dst"); a.add_argument("type")
    a = sub.add_parser("random-qwen2"); a.add_argument("vocab_from"); a.add_argument("dst")
    args = ap.parse_args()
    if args.cmd == "quantize":
        quantize(args.src, args.dst, args.type)
    elif args.cmd == "random-qwen2":
        write_random_qwen2(args.vocab_from, args.dst)
    elif args.cmd == "read-gguf":
        read_gguf(args.paths)
    elif args.cmd == "tokenize":
        tokenize(args.model, args.files)
    elif args.cmd == "logits":
        logits(args.model, args.ids, args.out, args.kv_f32, args.sequential)
    else:
        bench(args.model, args.p, args.n, args.r, args.t)


if __name__ == "__main__":
    main()

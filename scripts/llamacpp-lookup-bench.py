#!/usr/bin/env python3
"""llama.cpp's prompt-lookup decoding (llama-cpp-python's LlamaPromptLookupDecoding) at the positions
`understudy bench --data … --dump-prompts FILE` measured, for the table beside ours (issue 14).

    scripts/llamacpp-lookup-bench.py --model TEACHER.gguf --prompts FILE [--threads 2] [--json OUT]

Each position's prompt is replayed as the same token ids (token healing's bytes are not re-generated:
llama.cpp has no healing), greedy, for as many tokens as our model generated there alone; first without
a draft, then with LlamaPromptLookupDecoding(max_ngram_size=2, num_pred_tokens=10) (llama-cpp-python's
defaults). Tokens/s counts the tokens after the first (the first comes with the prompt's evaluation),
summed over positions per task, as our table's tokens/s excludes prompt time. Runs in the venv that
scripts/crosscheck-llamacpp installs (~/.cache/understudy/venv).
"""
import argparse
import json
import sys
import time

from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding


def generate(llm, prompt, count):
    """Greedy tokens after `prompt`; returns (tokens, seconds after the first token)."""
    tokens, first = [], None
    for token in llm.generate(prompt, temp=0.0, top_k=1, reset=True):
        if first is None:
            first = time.perf_counter()
        tokens.append(token)
        if len(tokens) >= count:
            break
    return tokens, time.perf_counter() - first


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompts", required=True, help="JSON lines from understudy bench --dump-prompts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the totals here too")
    arguments = parser.parse_args()

    records = [json.loads(line) for line in open(arguments.prompts) if line.strip()]
    if not records:
        sys.exit(f"{arguments.prompts}: no positions")
    longest = max(len(r["prompt"]) + r["generatedTokens"] for r in records) + 16
    common = dict(model_path=arguments.model, n_ctx=max(2048, longest), n_threads=arguments.threads,
                  n_threads_batch=arguments.threads, n_batch=512, verbose=False)
    engines = {"alone": Llama(**common),
               # logits_all=True by hand: with a draft model llama-cpp-python 0.3.36 keeps every row's logits but
               # sizes its score array from the logits_all argument (n_batch rows), and the first long prompt
               # overflows it ("could not broadcast input array ... into shape (0,)").
               "lookup": Llama(**common, logits_all=True,
                               draft_model=LlamaPromptLookupDecoding(max_ngram_size=2, num_pred_tokens=10))}
    totals = {}
    for index, record in enumerate(records):
        count = record["generatedTokens"]
        if count < 2:
            continue
        reference = None
        for name, llm in engines.items():
            tokens, seconds = generate(llm, record["prompt"], count)
            entry = totals.setdefault(record["task"], {}).setdefault(name, {"positions": 0, "tokens": 0, "seconds": 0.0, "differing": 0})
            entry["positions"] += 1
            entry["tokens"] += len(tokens) - 1
            entry["seconds"] += seconds
            if reference is None:
                reference = tokens
            elif tokens != reference:
                entry["differing"] += 1
        print(f"\r{index + 1}/{len(records)} positions", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("| task | drafts | positions | tokens | tokens/s | speed-up | differing texts |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for task, entries in totals.items():
        base = entries["alone"]["tokens"] / entries["alone"]["seconds"]
        for name, e in entries.items():
            rate = e["tokens"] / e["seconds"]
            e["tokensPerSecond"] = rate
            e["speedup"] = rate / base
            print(f"| {task} | {name} | {e['positions']} | {e['tokens']} | {rate:.1f} | {rate / base:.2f}× | {e['differing']} |")
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump({"model": arguments.model, "threads": arguments.threads, "prompts": arguments.prompts,
                       "llama_cpp_python": __import__("llama_cpp").__version__, "totals": totals}, out, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

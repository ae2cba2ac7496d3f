#!/usr/bin/env python3
"""Packs GGUF files small enough to send to a lent machine (scripts/device-thread-bench.sh) and
rebuilds them there with nothing but `dd`.

A model's layers repeat the same tensor shapes and types, and a speed test does the same work on any
values of a given shape and type. So each distinct (role, type, byte size) of tensor is stored once,
and every tensor of the same kind (blk.7.ffn_up.weight of the same type and size as blk.0's, say) is
rebuilt from that copy; the token embedding is shared across files when its type and size agree.
With --tile BYTES, a stored tensor longer than BYTES holds its first rows (BYTES' worth) over and over, which a
compressor squeezes to almost nothing (the values stay real weights, the same kernels run on them).
The rebuilt files have the originals' exact headers, offsets and sizes: both engines load and run
them as the real models, at the real cost. Their outputs are meaningless (only for timing).

pack:    shrink_gguf.py pack [--tile BYTES] OUTDIR FILE.gguf...   writes OUTDIR/blobs/*, OUTDIR/NAME.header,
         OUTDIR/NAME.plan (one "blob offset length" line per tensor) and OUTDIR/NAME.size
unpack:  done by scripts/device-thread-bench.sh with dd (no Python needed on the lent machine).
"""
import hashlib
import os
import re
import sys

import gguf


def role(name):
    """blk.12.ffn_up.weight -> blk.*.ffn_up.weight; other names stay."""
    return re.sub(r"^blk\.\d+\.", "blk.*.", name)


def pack(outdir, files, tile=0):
    os.makedirs(os.path.join(outdir, "blobs"), exist_ok=True)
    blobs = {}  # (role, type, bytes) -> blob name
    stored = 0
    for path in files:
        reader = gguf.GGUFReader(path)
        name = os.path.basename(path)
        data_start = min(t.data_offset for t in reader.tensors)
        with open(path, "rb") as f:
            header = f.read(data_start)
        with open(os.path.join(outdir, name + ".header"), "wb") as f:
            f.write(header)
        with open(os.path.join(outdir, name + ".size"), "w") as f:
            f.write(f"{os.path.getsize(path)}\n")
        plan = []
        for t in reader.tensors:
            key = (role(t.name), t.tensor_type.name, int(t.n_bytes))
            if key not in blobs:
                raw = bytes(reader.data[t.data_offset:t.data_offset + int(t.n_bytes)])
                rows = int(t.n_elements) // int(t.shape[0])
                row_bytes = len(raw) // rows
                whole_rows = row_bytes * max(1, tile // row_bytes)  # so no quant block is cut
                if tile and len(raw) > whole_rows:
                    raw = (raw[:whole_rows] * (len(raw) // whole_rows + 1))[:len(raw)]
                blob = hashlib.sha256(raw).hexdigest()[:16]
                with open(os.path.join(outdir, "blobs", blob), "wb") as f:
                    f.write(raw)
                blobs[key] = blob
                stored += len(raw)
            plan.append(f"{blobs[key]} {t.data_offset} {int(t.n_bytes)}")
        with open(os.path.join(outdir, name + ".plan"), "w") as f:
            f.write("\n".join(plan) + "\n")
        print(f"{name}: {len(reader.tensors)} tensors, {os.path.getsize(path) / 2**20:.1f} MiB", file=sys.stderr)
    print(f"stored {stored / 2**20:.1f} MiB of tensor data in {len(blobs)} blobs", file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "pack":
        sys.exit(__doc__)
    tile = 0
    if len(args) > 2 and args[1] == "--tile":
        tile = int(args[2])
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    pack(args[1], args[2:], tile)

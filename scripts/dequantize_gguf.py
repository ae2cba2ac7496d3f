#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every tensor dequantized: matrices as F16 (or F32), vectors as F32.

Lets Understudy run a downloaded model whose quantized types its kernels do not have yet, and gives
llama.cpp's `llama_model_quantize` a float file to requantize from. Uses the `gguf` package only.
Usage: dequantize_gguf.py IN.gguf OUT.gguf [--type f16|f32]
"""
import argparse

import numpy as np
import gguf
from gguf.quants import dequantize


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--type", choices=["f16", "f32"], default="f16")
    args = ap.parse_args()

    reader = gguf.GGUFReader(args.src)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(args.dst, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if key == "general.file_type":
            value = 1 if args.type == "f16" else 0
        writer.add_key_value(key, value, value_type, sub_type=sub_type)

    matrix_type = np.float16 if args.type == "f16" else np.float32
    for tensor in reader.tensors:
        # gguf reports shape ne0 first; numpy wants the reverse.
        shape = [int(d) for d in reversed(tensor.shape)]
        values = dequantize(tensor.data, tensor.tensor_type).reshape(shape)
        values = values.astype(matrix_type if len(shape) == 2 else np.float32)
        writer.add_tensor(tensor.name, values)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a tiny llama-architecture GGUF model with random weights and a byte-level SPM vocabulary.

For the llama.cpp server in test/helpers/infra/llm-server.ts: nothing is downloaded; the weights are
random (seeded), so the text it generates is noise, but every request runs the real prompt processing
and decode loop, which is what the queue-depth and in-flight metrics measure.
Usage: make-tiny-gguf.py OUT.gguf [--embd N] [--layers N] [--ff N] [--seed N]
"""
import argparse
import sys

import numpy as np
import gguf


def vocab() -> tuple[list[bytes], list[float], list[int]]:
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{b:02X}>".encode() for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    # a few whole words so that tokenization is not one token per byte everywhere
    words = [" the", " a", " and", " to", " of", " in", " is", " it", "e", "t", "a", "o", "n", " "]
    tokens += [w.replace(" ", "\u2581").encode() for w in words]
    types += [gguf.TokenType.NORMAL] * len(words)
    scores = [0.0] * 259 + [-float(i) for i in range(len(words))]
    return tokens, scores, types


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--embd", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--ff", type=int, default=768)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ctx", type=int, default=4096)
    p.add_argument("--seed", type=int, default=16)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    tokens, scores, types = vocab()
    n_vocab, e, f = len(tokens), a.embd, a.ff
    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("surgeguard-tiny-random")
    w.add_context_length(a.ctx)
    w.add_embedding_length(e)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(f)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(e // a.heads)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def t(name: str, *shape: int) -> None:
        w.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))

    t("token_embd.weight", n_vocab, e)
    w.add_tensor("output_norm.weight", np.ones(e, dtype=np.float32))
    t("output.weight", n_vocab, e)
    for i in range(a.layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(e, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(e, dtype=np.float32))
        for n in ("attn_q", "attn_k", "attn_v", "attn_output"):
            t(f"blk.{i}.{n}.weight", e, e)
        t(f"blk.{i}.ffn_gate.weight", f, e)
        t(f"blk.{i}.ffn_up.weight", f, e)
        t(f"blk.{i}.ffn_down.weight", e, f)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

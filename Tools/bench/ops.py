#!/usr/bin/env python3
"""PyTorch side of `wand bench ops`: same ops, same shapes, same thread count, on the CPU.

    ~/refenv/bin/python Tools/bench/ops.py --threads 2 [--wand .build/release/wand] [--attention-lengths 4096 16384]

Runs PyTorch, then (unless --no-wand) `wand bench ops --tsv` with the same arguments, and prints
one table: our seconds, torch's seconds, ratio (ours / torch, < 1 = we are faster), GFLOP/s.
Packages: torch (~/refenv).
"""
import argparse
import subprocess
import time

import torch
import torch.nn.functional as F


def best(fn, repeats):
    fn()  # warm-up (allocator, oneDNN primitive creation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--gemm-rows", type=int, default=1560)
    ap.add_argument("--attention-lengths", type=int, nargs="+", default=[4096])
    ap.add_argument("--conv-frames", type=int, default=1)
    ap.add_argument("--conv-size", type=int, nargs=2, default=[44, 80])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wand", default=".build/release/wand")
    ap.add_argument("--no-wand", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    h, wd = a.conv_size
    n, d = a.gemm_rows, 3072
    x, w = torch.randn(n, d), torch.randn(d, d)
    qkv = {L: [torch.randn(1, 24, L, 128) for _ in range(3)] for L in a.attention_lengths}
    cx = torch.randn(1, 1024, a.conv_frames, h, wd)
    cw, cb = torch.randn(512, 1024, 3, 3, 3) * 0.01, torch.randn(512)
    cases = [(f"linear_{n}x3072x3072", lambda: F.linear(x, w), 2 * n * d * d / 1e9)]
    for L in a.attention_lengths:
        q, k, v = qkv[L]
        cases.append((f"attention_L{L}_h24_d128", lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v),
                      4 * L * L * 128 * 24 / 1e9))
    # Wan's CausalConv3d: pad time 2 in front, space 1 each side, then an unpadded conv3d.
    # FLOPs are counted for all 27 taps: in the first chunk two of the three frames are padding,
    # which PyTorch multiplies and wand leaves out, so this row's wand GF/s is nominal.
    cases.append((f"conv3d_1024to512_k3_T{a.conv_frames}_{h}x{wd}",
                  lambda: F.conv3d(F.pad(cx, (1, 1, 1, 1, 2, 0)), cw, cb),
                  2 * 512 * 1024 * 27 * a.conv_frames * h * wd / 1e9))
    # Every later chunk of the streaming decoder: the two cached frames go in front instead of
    # padding, so all 27 taps see real data.
    cx_cached = torch.randn(1, 1024, a.conv_frames + 2, h, wd)
    cases.append((f"conv3d_1024to512_k3_T{a.conv_frames}cache2_{h}x{wd}",
                  lambda: F.conv3d(F.pad(cx_cached, (1, 1, 1, 1, 0, 0)), cw, cb),
                  2 * 512 * 1024 * 27 * a.conv_frames * h * wd / 1e9))
    cmd = [a.wand, "bench", "ops", "--threads", str(a.threads), "--gemm-rows", str(a.gemm_rows),
           "--attention-lengths", *map(str, a.attention_lengths), "--conv-frames", str(a.conv_frames),
           "--conv-size", str(h), str(wd), "--repeats", str(a.repeats), "--tsv"]

    # The machine is shared: alternate torch and wand rounds and keep each side's best time, so
    # both see the same background load.
    rows, ours = {}, {}
    for _ in range(a.rounds):
        with torch.inference_mode():
            for name, fn, flop in cases:
                s = best(fn, a.repeats)
                rows[name] = (min(s, rows.get(name, (s, 0))[0]), flop)
        if a.no_wand:
            continue
        for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
            name, s, flop = line.split("\t")
            s = float(s)
            ours[name] = (min(s, ours.get(name, (s, 0))[0]), float(flop))

    print(f"ops benchmark, {a.threads} threads, best of {a.rounds} alternating rounds x {a.repeats} runs, torch {torch.__version__}")
    print(f"{'op':38} {'wand s':>9} {'torch s':>9} {'ratio':>7} {'wand GF/s':>10} {'torch GF/s':>10}")
    peak = None
    for name, (s, flop) in ours.items():
        if name.startswith("sgemm_openblas"):
            peak = flop / s
            print(f"{name:38} {s:9.4f} {'':>9} {'':>7} {flop / s:10.1f} {'':>10}  (OpenBLAS's own peak)")
    for name, (s, flop) in ours.items():
        if name not in rows and not name.startswith("sgemm_openblas"):
            note = f"  {100 * flop / s / peak:.1f}% of OpenBLAS peak (no torch twin)" if peak else ""
            print(f"{name:38} {s:9.4f} {'':>9} {'':>7} {flop / s:10.1f} {'':>10}{note}")
    for name, (ts, flop) in rows.items():
        if name in ours:
            s = ours[name][0]
            note = f"  {100 * flop / s / peak:.1f}% of OpenBLAS peak" if name.startswith("linear") and peak else ""
            print(f"{name:38} {s:9.4f} {ts:9.4f} {s / ts:7.2f} {flop / s:10.1f} {flop / ts:10.1f}{note}")
        else:
            print(f"{name:38} {'':>9} {ts:9.4f} {'':>7} {'':>10} {flop / ts:10.1f}")


if __name__ == "__main__":
    main()

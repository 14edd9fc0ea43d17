#!/usr/bin/python3
"""PyTorch side of bench/compare: reads one JSON request per line on stdin, answers one JSON
line {"ms": median milliseconds per call, "runs": [...]} on stdout.

Request: {"cell": "LSTM"|"GRU"|"RNN_TANH", "hidden": H, "batch": B, "seq_len": T,
          "mode": "infer"|"train"|"step", "threads": n, "min_time": seconds}
Input size = hidden. Inference runs under torch.no_grad(); "step" times nn.LSTMCell /
nn.GRUCell / nn.RNNCell at batch 1. The process is started pinned (taskset) with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set to the same count by bench/compare.

`torch_worker.py --peak-memory CELL H B T` instead runs one training step in this fresh
process and prints {"before_kb", "peak_kb"} (resident set before it, its high-water mark
during it).
"""
import json
import os
import resource
import statistics
import sys
import time

import torch

_cache = {}


def build(req):
    key = (req["cell"], req["hidden"], req["batch"], req["seq_len"], req["mode"])
    if key in _cache:
        return _cache[key]
    torch.manual_seed(0)
    H, B, T = req["hidden"], req["batch"], req["seq_len"]
    cell = req["cell"]
    if req["mode"] == "step":
        mod = {"LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}.get(cell)
        mod = mod(H, H) if mod else torch.nn.RNNCell(H, H, nonlinearity="tanh")
        x = torch.randn(1, H)
        state = (torch.zeros(1, H), torch.zeros(1, H)) if cell == "LSTM" else torch.zeros(1, H)
        obj = (mod, x, state, None)
    else:
        if cell == "LSTM":
            mod = torch.nn.LSTM(H, H)
        elif cell == "GRU":
            mod = torch.nn.GRU(H, H)
        else:
            mod = torch.nn.RNN(H, H, nonlinearity="tanh")
        # Training computes the input's gradient too, as rnn.cpp and oneDNN do (without it
        # autograd skips the dx product, a sixth of the work).
        x = torch.randn(T, B, H, requires_grad=req["mode"] == "train")
        dy = torch.randn(T, B, H)
        obj = (mod, x, None, dy)
    _cache.clear()
    _cache[key] = obj
    return obj


def one_call(req, obj):
    mod, x, state, dy = obj
    mode = req["mode"]
    if mode == "infer":
        with torch.no_grad():
            mod(x)
    elif mode == "train":
        x.grad = None  # a fresh dx each call, like rnn.cpp's backward
        y, _ = mod(x)
        y.backward(dy)
    else:
        with torch.no_grad():
            for _ in range(req.get("inner", 100)):
                state = mod(x, state)


def measure(req):
    torch.set_num_threads(req["threads"])
    obj = build(req)
    one_call(req, obj)  # warm-up
    one_call(req, obj)
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < req["min_time"] and len(times) < 1000):
        t0 = time.perf_counter()
        one_call(req, obj)
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    if req["mode"] == "step":
        ms /= req.get("inner", 100)
    return ms


def resident_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGESIZE") // 1024)


def peak_resident_kb():
    """The resident set's high-water mark (VmHWM), which reset_peak() sets back to the current."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak():
    # Without this the peak could be one from before the step (building the model and data).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_memory(cell, hidden, batch, steps):
    """One training step in a fresh process: resident set before it, peak during it."""
    torch.set_num_threads(1)
    mod, x, _, dy = build(dict(cell=cell, hidden=hidden, batch=batch, seq_len=steps, mode="train"))
    before = resident_kb()
    reset_peak()
    y, _ = mod(x)
    y.backward(dy)
    print(json.dumps({"before_kb": before, "peak_kb": peak_resident_kb()}))


def main():
    if sys.argv[1:2] == ["--peak-memory"]:
        peak_memory(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    torch.set_num_interop_threads(1)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")  # torch imported: timings may start
    sys.stdout.flush()
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("quit"):
            break
        ms = measure(req)
        sys.stdout.write(json.dumps({"ms": ms}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

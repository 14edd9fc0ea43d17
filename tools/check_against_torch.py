#!/usr/bin/python3
"""Checks `rnn run` against PyTorch on random configurations.

    /usr/bin/python3 tools/check_against_torch.py --cli build/rnn [-n 50] [--seed 0]
        [--max-size 9] [--max-steps 7] [--keep DIR]

Needs torch (Debian's python3-torch: run it with /usr/bin/python3) and a built `rnn`
program. For each of N random configurations (cell, layers, directions, bias,
batch_first, proj_size, sizes, lengths, given or default states and upstream
gradients, float32 or float64) it
  1. builds the torch module (default init) and random inputs,
  2. writes the model (with tools/torch_export.py), the inputs and the upstream
     gradients as safetensors files in the format of docs/RUN_FORMAT.md,
  3. runs `rnn run --model M --input X --grad G --output Y --json`,
  4. compares y, h_n, c_n, dx, dh0, dc0 and grad.<param> with torch's forward/backward
     (float32: |a-b| <= 1e-5 + 1e-4 |ref|; float64: 1e-10 + 1e-9 |ref|).
It prints the worst error per tensor kind and every mismatch (configuration, tensor,
first bad index, expected, actual), and exits 1 if anything mismatched or failed.
Not part of ctest (it needs torch).
"""

import argparse
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from torch_export import export_module  # noqa: E402

TOLERANCE = {"float32": (1e-5, 1e-4), "float64": (1e-10, 1e-9)}


def find_cli():
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    found = sorted(glob.glob(os.path.join(root, "build*", "rnn")), key=os.path.getmtime)
    return found[-1] if found else None


def draw_config(rng, max_size, max_steps):
    mode = rng.choice(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
    hidden = rng.randint(1, max_size)
    proj = 0
    if mode == "LSTM" and hidden >= 2 and rng.random() < 0.4:
        proj = rng.randint(1, hidden - 1)
    cfg = dict(mode=mode, input_size=rng.randint(1, max_size), hidden_size=hidden,
               num_layers=rng.randint(1, 3), bias=rng.random() < 0.7,
               batch_first=rng.random() < 0.5, dropout=0.0,
               bidirectional=rng.random() < 0.5, proj_size=proj)
    case = dict(batch=rng.randint(1, 4), steps=rng.randint(1, max_steps),
                lengths=rng.random() < 0.5, h0=rng.random() < 0.7, c0=rng.random() < 0.7,
                dh_n=rng.random() < 0.7, dc_n=rng.random() < 0.7,
                lengths_i32=rng.random() < 0.3,
                dtype="float64" if rng.random() < 0.25 else "float32")
    return cfg, case


def torch_module(cfg, dtype):
    common = dict(input_size=cfg["input_size"], hidden_size=cfg["hidden_size"],
                  num_layers=cfg["num_layers"], bias=cfg["bias"],
                  batch_first=cfg["batch_first"], dropout=cfg["dropout"],
                  bidirectional=cfg["bidirectional"])
    if cfg["mode"] == "LSTM":
        m = torch.nn.LSTM(proj_size=cfg["proj_size"], **common)
    elif cfg["mode"] == "GRU":
        m = torch.nn.GRU(**common)
    else:
        m = torch.nn.RNN(nonlinearity="tanh" if cfg["mode"] == "RNN_TANH" else "relu", **common)
    return m.to(dtype).eval()


def compare(name, actual, expected, atol, rtol):
    """(ok, worst |diff|, message)."""
    if actual is None:
        return False, float("inf"), f"{name}: missing from the output file"
    if tuple(actual.shape) != tuple(expected.shape):
        return False, float("inf"), (f"{name}: shape {list(actual.shape)}, expected "
                                     f"{list(expected.shape)}")
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    diff = np.abs(a - e)
    worst = float(diff.max()) if diff.size else 0.0
    bad = ~(diff <= atol + rtol * np.abs(e))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return False, worst, (f"{name}: first bad index {list(idx)}: expected {e[idx]!r}, "
                              f"got {a[idx]!r} (worst |diff| {worst:.3e})")
    return True, worst, ""


def kind_of(name):
    if name.startswith("grad."):
        return "d" + name[5:].split("_l")[0]
    return name


def run_case(index, cfg, case, seed, cli, workdir, worst, failures):
    dtype = torch.float64 if case["dtype"] == "float64" else torch.float32
    torch.manual_seed(seed)
    module = torch_module(cfg, dtype)
    D = 2 if cfg["bidirectional"] else 1
    L, B, T = cfg["num_layers"], case["batch"], case["steps"]
    H = cfg["hidden_size"]
    Hout = cfg["proj_size"] or H
    lstm = cfg["mode"] == "LSTM"

    x = torch.randn(*((B, T, cfg["input_size"]) if cfg["batch_first"] else (T, B, cfg["input_size"])),
                    dtype=dtype, requires_grad=True)
    h0 = (torch.randn(D * L, B, Hout, dtype=dtype) if case["h0"]
          else torch.zeros(D * L, B, Hout, dtype=dtype)).requires_grad_(True)
    c0 = None
    if lstm:
        c0 = (torch.randn(D * L, B, H, dtype=dtype) if case["c0"]
              else torch.zeros(D * L, B, H, dtype=dtype)).requires_grad_(True)
    lengths = None
    if case["lengths"]:
        lengths = torch.randint(1, T + 1, (B,), dtype=torch.int64)
    state = (h0, c0) if lstm else h0
    if lengths is None:
        y, hidden = module(x, state)
    else:
        packed = pack_padded_sequence(x, lengths, batch_first=cfg["batch_first"], enforce_sorted=False)
        yp, hidden = module(packed, state)
        y, _ = pad_packed_sequence(yp, batch_first=cfg["batch_first"], total_length=T)
    h_n, c_n = hidden if lstm else (hidden, None)
    dy = torch.randn(*y.shape, dtype=dtype)
    dh_n = torch.randn(*h_n.shape, dtype=dtype) if case["dh_n"] else None
    dc_n = torch.randn(*c_n.shape, dtype=dtype) if (lstm and case["dc_n"]) else None
    loss = (y * dy).sum()
    if dh_n is not None:
        loss = loss + (h_n * dh_n).sum()
    if dc_n is not None:
        loss = loss + (c_n * dc_n).sum()
    loss.backward()

    expected = {"y": y, "h_n": h_n, "dx": x.grad, "dh0": h0.grad}
    if lstm:
        expected.update(c_n=c_n, dc0=c0.grad)
    for pname, p in module.named_parameters():
        expected["grad." + pname] = p.grad
    expected = {k: v.detach().numpy() for k, v in expected.items()}

    base = os.path.join(workdir, f"case{index:03d}")
    model_path, input_path, grad_path, out_path = (base + s for s in
                                                   ("_model.safetensors", "_input.safetensors",
                                                    "_grad.safetensors", "_out.safetensors"))
    # The model file through tools/torch_export.py (the documented way to export).
    exported = export_module(module, model_path, dtype="F64" if case["dtype"] == "float64" else "F32")
    if exported != cfg:
        failures.append(f"case {index}: torch_export wrote config {exported}, expected {cfg}")
    inputs = {"x": x.detach()}
    if case["h0"]:
        inputs["h0"] = h0.detach()
    if lstm and case["c0"]:
        inputs["c0"] = c0.detach()
    if lengths is not None:
        inputs["lengths"] = lengths.to(torch.int32 if case["lengths_i32"] else torch.int64)
    safetensors_io.save(input_path, inputs)
    grads = {"dy": dy}
    if dh_n is not None:
        grads["dh_n"] = dh_n
    if dc_n is not None:
        grads["dc_n"] = dc_n
    safetensors_io.save(grad_path, grads)

    label = f"case {index} {json.dumps(cfg)} {json.dumps(case)}"
    cmd = [cli, "run", "--model", model_path, "--input", input_path, "--grad", grad_path,
           "--output", out_path, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        failures.append(f"{label}: rnn run exited {proc.returncode}: {proc.stderr.strip()}")
        return
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        failures.append(f"{label}: --json output is not one JSON object: {proc.stdout!r}")
        return
    actual, _ = safetensors_io.load(out_path)
    if sorted(report.get("tensors", [])) != sorted(actual):
        failures.append(f"{label}: --json lists {report.get('tensors')}, file has {sorted(actual)}")
    if sorted(actual) != sorted(expected):
        failures.append(f"{label}: output tensors {sorted(actual)}, expected {sorted(expected)}")
    atol, rtol = TOLERANCE[case["dtype"]]
    for name, ref in sorted(expected.items()):
        ok, err, message = compare(name, actual.get(name), ref, atol, rtol)
        key = (case["dtype"], kind_of(name))
        if err > worst.get(key, (-1.0, ""))[0]:
            worst[key] = (err, f"case {index}")
        if not ok:
            failures.append(f"{label}: {message}")


def main():
    parser = argparse.ArgumentParser(description="Compare `rnn run` with PyTorch on random configurations.")
    parser.add_argument("--cli", default=None, help="path of the rnn program (default: newest build*/rnn)")
    parser.add_argument("-n", "--count", type=int, default=50, help="number of random configurations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-size", type=int, default=9,
                        help="largest input_size / hidden_size drawn (default 9)")
    parser.add_argument("--max-steps", type=int, default=7, help="longest sequence drawn (default 7)")
    parser.add_argument("--keep", default=None, help="keep the files in this folder")
    args = parser.parse_args()

    cli = args.cli or find_cli()
    if not cli or not os.path.exists(cli):
        print("check_against_torch: no rnn program found; pass --cli PATH", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    workdir = args.keep or tempfile.mkdtemp(prefix="rnn_check_")
    os.makedirs(workdir, exist_ok=True)
    worst, failures = {}, []
    try:
        for i in range(args.count):
            cfg, case = draw_config(rng, args.max_size, args.max_steps)
            run_case(i, cfg, case, args.seed * 100003 + i, cli, workdir, worst, failures)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"{args.count} random configurations, rnn = {cli}")
    print("worst |rnn - torch| per kind:")
    for (dtype, kind), (err, where) in sorted(worst.items()):
        print(f"  {dtype:8s} {kind:11s} {err:.3e}  ({where})")
    if failures:
        print(f"{len(failures)} MISMATCHES:")
        for f in failures:
            print("  " + f)
        return 1
    print("all match")
    return 0


if __name__ == "__main__":
    sys.exit(main())

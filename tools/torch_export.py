#!/usr/bin/python3
"""Export a torch.nn.RNN / LSTM / GRU as an rnn.cpp model file (safetensors).

The file holds the module's state_dict under PyTorch's own names (weight_ih_l0,
bias_hh_l1_reverse, weight_hr_l0, ...) as F32 and the constructor arguments as JSON in
__metadata__["config"] (the keys of rnn::RecurrentConfig::to_json).

Command line (run with Debian's python: /usr/bin/python3):
    tools/torch_export.py --mode LSTM --input-size 3 --hidden-size 5 [--num-layers 2]
        [--bias | --no-bias] [--batch-first] [--dropout 0.1] [--bidirectional]
        [--proj-size 2] [--seed 0] [--dtype F32|F64] OUT.safetensors

As a module:
    from torch_export import export_module
    export_module(torch.nn.GRU(3, 5), "gru.safetensors")
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def module_config(module):
    """The rnn.cpp RecurrentConfig (as a dict) of a torch.nn.RNN / LSTM / GRU."""
    import torch

    if not isinstance(module, torch.nn.RNNBase):
        raise TypeError(f"expected torch.nn.RNN, LSTM or GRU, got {type(module).__name__}")
    mode = module.mode
    if mode not in MODES:
        raise ValueError(f"unsupported recurrent mode {mode!r}")
    return {
        "mode": mode,
        "input_size": int(module.input_size),
        "hidden_size": int(module.hidden_size),
        "num_layers": int(module.num_layers),
        "bias": bool(module.bias),
        "batch_first": bool(module.batch_first),
        "dropout": float(module.dropout),
        "bidirectional": bool(module.bidirectional),
        "proj_size": int(getattr(module, "proj_size", 0)),
    }


def export_module(module, path, dtype="F32", extra_metadata=None):
    """Writes `module`'s parameters and configuration to `path` (F32 or F64)."""
    import torch

    if dtype not in ("F32", "F64"):
        raise ValueError(f"dtype must be F32 or F64, got {dtype!r}")
    torch_dtype = torch.float32 if dtype == "F32" else torch.float64
    config = module_config(module)
    tensors = {
        name: value.detach().to(device="cpu", dtype=torch_dtype).contiguous()
        for name, value in module.state_dict().items()
    }
    metadata = {"config": json.dumps(config), "producer": "tools/torch_export.py"}
    if extra_metadata:
        metadata.update(extra_metadata)
    safetensors_io.save(path, tensors, metadata)
    return config


def build_module(mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0):
    """torch.nn.RNN / LSTM / GRU from rnn.cpp's config fields."""
    import torch

    common = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                  bias=bias, batch_first=batch_first, dropout=dropout,
                  bidirectional=bidirectional)
    if mode == "LSTM":
        return torch.nn.LSTM(proj_size=proj_size, **common)
    if proj_size:
        raise ValueError(f"proj_size is only supported by LSTM, not {mode}")
    if mode == "GRU":
        return torch.nn.GRU(**common)
    if mode in ("RNN_TANH", "RNN"):
        return torch.nn.RNN(nonlinearity="tanh", **common)
    if mode == "RNN_RELU":
        return torch.nn.RNN(nonlinearity="relu", **common)
    raise ValueError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", required=True, choices=MODES + ("RNN",),
                        help="cell type (RNN = RNN_TANH)")
    parser.add_argument("--input-size", type=int, required=True)
    parser.add_argument("--hidden-size", type=int, required=True)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--bias", dest="bias", action="store_true", default=True,
                        help="with biases (default)")
    parser.add_argument("--no-bias", dest="bias", action="store_false")
    parser.add_argument("--batch-first", action="store_true")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--proj-size", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default 0)")
    parser.add_argument("--dtype", choices=("F32", "F64"), default="F32")
    parser.add_argument("output", help="OUT.safetensors")
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    try:
        module = build_module(args.mode, args.input_size, args.hidden_size, args.num_layers,
                              args.bias, args.batch_first, args.dropout, args.bidirectional,
                              args.proj_size)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    config = export_module(module, args.output, dtype=args.dtype)
    print(json.dumps({"output": args.output, "config": config}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

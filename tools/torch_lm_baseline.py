#!/usr/bin/python3
"""PyTorch baseline for `rnn lm train` (character level): the same data pipeline, model,
optimizer and hyperparameters, run with the same thread count and wall-clock budget, so
that validation/test bits per character and training tokens/s compare side by side.

Same as rnn.cpp (docs/LANGUAGE_MODELING.md):
  text      UTF-8, a leading BOM dropped, CRLF -> LF
  split     test = last floor(5% N) characters, validation = floor(5% N) before it
  vocab     ["<unk>"] + the training part's distinct characters in code point order
  streams   B contiguous streams, L = (N-1)//B; windows of T steps (the last one of a pass
            shorter); hidden state carried between windows, reset to zero at a new pass
  model     Embedding(V,E) U(-0.1,0.1) -> dropout -> LSTM/GRU/RNN(E,H,L, dropout between
            layers) -> dropout -> Linear(H,V) weight U(-0.1,0.1) (or tied), bias 0
  loss      mean cross-entropy over the window; Adam(lr) / AdamW / SGD; clip_grad_norm_
  budget    max steps or wall-clock seconds (validation time included, as rnn.cpp's
            trainer); validation every N steps; the best model is scored on test.

Usage (Debian python3-torch):
  /usr/bin/python3 tools/torch_lm_baseline.py --text cache/kjv.txt --threads 2 --time 600 \
      --hidden 256 --layers 2 --embed 64 --batch 32 --seq-len 128 --lr 2e-3 --clip 5 --json
"""
import argparse
import copy
import json
import math
import sys
import time

import torch
import torch.nn as nn


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")  # strict, as rnn.cpp
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")


def split(n):
    test = int(math.floor(n * 0.05))
    valid = int(math.floor(n * 0.05))
    return n - test - valid, n - test


class Streams:
    def __init__(self, ids, batch, seq_len):
        self.batch, self.seq_len = batch, seq_len
        self.length = (len(ids) - 1) // batch
        self.windows = (self.length + seq_len - 1) // seq_len
        n = self.length * batch
        self.x = ids[: n].view(batch, self.length).t().contiguous()  # [L, B]
        y = torch.stack([ids[b * self.length + 1: b * self.length + 1 + self.length] for b in range(batch)])
        self.y = y.t().contiguous()

    def window(self, w):
        t0 = w * self.seq_len
        t1 = min(t0 + self.seq_len, self.length)
        return self.x[t0:t1], self.y[t0:t1]


class LanguageModel(nn.Module):
    def __init__(self, vocab, embed, hidden, layers, cell, dropout, tie):
        super().__init__()
        self.encoder = nn.Embedding(vocab, embed)
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell)
        if rnn_cls is not None:
            self.rnn = rnn_cls(embed, hidden, layers, dropout=dropout if layers > 1 else 0.0)
        else:
            self.rnn = nn.RNN(embed, hidden, layers, nonlinearity="relu" if cell == "rnn_relu" else "tanh",
                              dropout=dropout if layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden, vocab)
        self.drop = nn.Dropout(dropout)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        if tie:
            self.decoder.weight = self.encoder.weight
        else:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, x, state):
        y, state = self.rnn(self.drop(self.encoder(x)), state)
        return self.decoder(self.drop(y)), state


def detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def evaluate(model, ids, batch, seq_len, max_tokens=0):
    if max_tokens and max_tokens + 1 < len(ids):
        ids = ids[: max_tokens + 1]
    batch = min(batch, len(ids) - 1)
    s = Streams(ids, batch, seq_len)
    model.eval()
    state, total, count = None, 0.0, 0
    for w in range(s.windows):
        x, y = s.window(w)
        logits, state = model(x, state)
        total += nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                             reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count, count


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--text", required=True)
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn_tanh", "rnn_relu"])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--tie", action="store_true")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--time", type=float, default=0.0, help="wall-clock budget in seconds (0 = none)")
    p.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd"])
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--val-tokens", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-test", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    text = read_text(a.text)
    train_end, valid_end = split(len(text))
    vocab = ["<unk>"] + sorted(set(text[:train_end]))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index.get(c, 0) for c in text], dtype=torch.long)
    train, valid, test = ids[:train_end], ids[train_end:valid_end], ids[valid_end:]
    streams = Streams(train, a.batch, a.seq_len)
    model = LanguageModel(len(vocab), a.embed, a.hidden, a.layers, a.cell, a.dropout, a.tie)
    if a.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    elif a.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay or 1e-2)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: {len(train)} training characters, "
          f"vocabulary {len(vocab)}, {sum(t.numel() for t in model.parameters())} parameters",
          file=sys.stderr)

    start = time.perf_counter()
    train_seconds, train_tokens = 0.0, 0
    best_val, best_step, best_state = math.inf, 0, None
    state, window, step = None, 0, 0
    evaluated_now = False

    def validate():
        nonlocal best_val, best_step, best_state
        loss, _ = evaluate(model, valid, a.batch, a.seq_len, a.val_tokens)
        if loss < best_val:
            best_val, best_step, best_state = loss, step, copy.deepcopy(model.state_dict())
        print(f"step {step}: validation {loss:.4f} nats/char ({loss / math.log(2):.4f} bpc)", file=sys.stderr)

    while step < a.steps:
        if a.time > 0 and time.perf_counter() - start >= a.time:
            break
        t0 = time.perf_counter()
        if window == streams.windows:
            window, state = 0, None
        x, y = streams.window(window)
        window += 1
        logits, state = model(x, state)
        state = detach(state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if a.clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        train_seconds += time.perf_counter() - t0
        train_tokens += y.numel()
        evaluated_now = False
        if a.eval_every > 0 and step % a.eval_every == 0:
            validate()
            evaluated_now = True
    if not evaluated_now:
        validate()
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    result = {"steps": step, "seconds": seconds, "tokens_per_s": train_tokens / train_seconds,
              "best_step": best_step, "threads": torch.get_num_threads()}
    v, n = evaluate(model, valid, a.batch, a.seq_len)
    result["valid"] = {"loss": v, "bpc": v / math.log(2), "tokens": n}
    if not a.skip_test:
        t, n = evaluate(model, test, a.batch, a.seq_len)
        result["test"] = {"loss": t, "bpc": t / math.log(2), "tokens": n}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"steps {step} in {seconds:.1f} s, {result['tokens_per_s']:.0f} tokens/s (training); "
              f"validation {result['valid']['bpc']:.4f} bpc"
              + (f", test {result['test']['bpc']:.4f} bpc" if "test" in result else ""))


if __name__ == "__main__":
    main()

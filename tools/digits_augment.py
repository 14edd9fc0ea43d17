#!/usr/bin/python3
"""Helper of tools/make_digits_corpus.sh (see there). Two steps:

  plan     draws every random choice of the corpus from --seed and writes OUT/plan.tsv:
           split, id, voice, speed, pitch, word gap, amplitude, text, then the augmentation
           (gain dB, SNR dB, leading/trailing pad ms, telephone band 0/1, mu-law 0/1, noise
           seed, warp factor);
  augment  reads OUT/raw/<split>/<id>.wav (the synthesiser's output) and writes
           OUT/<split>/<id>.wav with the planned augmentation, and OUT/<split>.tsv;
  table    reads `rnn asr eval --by-speaker --json` results (--eval, one file or more, e.g.
           greedy and beam on the same data) and prints a Markdown table of WER, CER and
           string accuracy per voice variant (the part after '+', summed over the accents)
           and per accent, one set of columns per file (docs/SPEECH.md).

Each split draws from its own generator (seeded by --seed and the split's name), so a
larger training set leaves the validation and test sets unchanged.
"""

import argparse
import json
import os
import random
import wave

import numpy as np

# "en" is British English; espeak-ng 1.51 ignores a variant after "en-gb" ("en-gb+f4" is
# the plain voice), so the accent is named "en".
ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029"]
# Voice variants; whole variants are held out for validation and test.
# Training uses every other human-sounding espeak-ng variant (robot and effect voices left out):
# the more vocal-tract shapes seen in training, the better unseen voices are recognised.
TRAIN_VARIANTS = ["m1", "m2", "m3", "m4", "m7", "m8", "f1", "f3", "f5", "croak", "klatt",
                  "klatt4", "klatt5", "klatt6", "Alex", "Andy", "edward", "edward2", "john",
                  "linda", "max", "paul", "adam", "belinda", "whisper", "whisperf", "iven",
                  "iven2", "iven3", "iven4", "grandma", "grandpa", "michel", "Alicia", "Andrea",
                  "AnxiousAndy", "Denis", "Diogo", "Gene", "Gene2", "Henrique", "Hugo", "Jacky",
                  "Lee", "Marco", "Mario", "Michael", "Nguyen", "Storm", "Tweaky", "anika",
                  "announcer", "antonio", "benjamin", "boris", "caleb", "gustave", "kaukovalta",
                  "marcelo", "miguel", "norbert", "pablo", "pedro", "quincy", "rob", "robert",
                  "sandro", "shelby", "steph", "steph2", "steph3", "travis", "victor", "zac"]
VALID_VARIANTS = ["m5", "f2", "klatt2", "Annie"]
TEST_VARIANTS = ["m6", "f4", "klatt3", "Mike", "aunty", "david"]
# flite (Debian flite) voices, training only, for a --flite share of the training utterances:
# a second, different synthesiser (diphone and statistical-parametric voices).
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def plan(args):
    rows = []
    for split, count, variants in [("train", args.train, TRAIN_VARIANTS),
                                   ("valid", args.valid, VALID_VARIANTS),
                                   ("test", args.test, TEST_VARIANTS)]:
        rng = random.Random(f"{args.seed}/{split}")
        for i in range(count):
            if split == "train" and rng.random() < args.flite:
                voice = "flite:" + rng.choice(FLITE_VOICES)
            else:
                voice = rng.choice(ACCENTS) + "+" + rng.choice(variants)
            digits = [rng.randrange(10) for _ in range(rng.randint(1, 7))]
            words = ["oh" if d == 0 and rng.random() < 0.5 else WORDS[d] for d in digits]
            row = [split, f"{split}_{i:05d}", voice, str(rng.randint(110, 230)),
                   str(rng.randint(20, 85)), str(rng.randint(0, 12)), str(rng.randint(60, 180)),
                   " ".join(words),
                   f"{rng.uniform(-24.0, 4.0):.2f}", f"{rng.uniform(5.0, 45.0):.2f}",
                   str(rng.randint(0, 400)), str(rng.randint(0, 400)),
                   str(int(rng.random() < 0.5)), str(int(rng.random() < 0.3)),
                   str(rng.randrange(2**31)),
                   # training only: time-scale the waveform (pitch, formants and tempo
                   # together), a vocal-tract-length change that no espeak variant makes
                   f"{rng.uniform(0.8, 1.2) if split == 'train' and rng.random() < 0.5 else 1.0:.3f}"]
            rows.append(row)
    with open(os.path.join(args.out, "plan.tsv"), "w") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")


def read_wav16(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return rate, data


def write_wav16(path, rate, x):
    pcm = np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def augment_one(x, rate, gain_db, snr_db, pad_lead_ms, pad_trail_ms, phone, mulaw, seed, warp):
    rng = np.random.default_rng(seed)
    if warp != 1.0:  # played back `warp` times faster: every frequency scaled by warp
        t = np.arange(0.0, len(x) - 1, warp)
        x = np.interp(t, np.arange(len(x)), x)
    # trim espeak's own silence a little differently each time, then pad
    x = np.concatenate([np.zeros(int(rate * pad_lead_ms / 1000)), x,
                        np.zeros(int(rate * pad_trail_ms / 1000))])
    if phone:  # telephone band: 300-3400 Hz, by an FFT mask with soft edges
        spec = np.fft.rfft(x)
        f = np.fft.rfftfreq(len(x), 1.0 / rate)
        mask = np.clip((f - 200.0) / 200.0, 0, 1) * np.clip((3600.0 - f) / 400.0, 0, 1)
        x = np.fft.irfft(spec * mask, len(x))
    speech = x[np.abs(x) > 1e-4]
    power = float(np.mean(speech ** 2)) if speech.size else 1e-6
    noise = rng.standard_normal(len(x))
    # coloured a little: white mixed with its running sum (more low-frequency energy)
    brown = np.cumsum(rng.standard_normal(len(x)))
    brown -= np.convolve(brown, np.ones(64) / 64, mode="same")
    noise = noise + 0.5 * brown / (np.std(brown) + 1e-9)
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / np.mean(noise ** 2))
    x = (x + noise) * 10 ** (gain_db / 20)
    if mulaw:  # 8-bit mu-law companding, as telephone recordings are stored
        mu = 255.0
        y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
        y = np.round(y * 127.0) / 127.0
        x = np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu
    return np.clip(x, -1.0, 1.0)


def augment(args):
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(args.out, "plan.tsv"))]
    tsv = {}
    for row in rows:
        split, uid, voice, text = row[0], row[1], row[2], row[7]
        gain, snr, lead, trail, phone, mulaw, seed, warp = row[8:16]
        os.makedirs(os.path.join(args.out, split), exist_ok=True)
        rate, x = read_wav16(os.path.join(args.out, "raw", split, uid + ".wav"))
        y = augment_one(x, rate, float(gain), float(snr), int(lead), int(trail), int(phone),
                        int(mulaw), int(seed), float(warp))
        write_wav16(os.path.join(args.out, split, uid + ".wav"), rate, y)
        tsv.setdefault(split, []).append(f"{split}/{uid}.wav\t{text}\t{voice}")
    for split, lines in tsv.items():
        with open(os.path.join(args.out, split + ".tsv"), "w") as f:
            f.write("\n".join(lines) + "\n")


def table(args):
    keys = ("words", "word_edits", "chars", "char_edits", "strings", "strings_right")
    columns, results = [], []
    for path in args.eval:
        r = json.load(open(path))
        groups = {}
        for name, c in r["speakers"].items():
            accent, _, variant = name.partition("+")
            for key in (("variant", variant or accent), ("accent", accent)):
                g = groups.setdefault(key, dict.fromkeys(keys, 0))
                for k in keys:
                    g[k] += c[k]
        groups[("all", "all")] = {k: r[k] for k in keys}
        columns.append("greedy" if r["beam"] == 1 else f"beam {r['beam']}")
        results.append(groups)
    head = "| group | voice | utterances |"
    for c in columns:
        head += f" WER {c} | CER {c} | string acc. {c} |"
    print(head)
    print("|---" * (3 + 3 * len(columns)) + "|")
    order = sorted(results[0], key=lambda k: (k[0] == "all", k[0] != "variant", k[1].lower()))
    for key in order:
        line = f"| {key[0]} | {key[1]} | {results[0][key]['strings']} |"
        for groups in results:
            g = groups[key]
            line += (f" {100 * g['word_edits'] / g['words']:.2f}% |"
                     f" {100 * g['char_edits'] / g['chars']:.2f}% |"
                     f" {100 * g['strings_right'] / g['strings']:.2f}% |")
        print(line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["plan", "augment", "table"])
    p.add_argument("--out")
    p.add_argument("--eval", nargs="+", help="table: rnn asr eval --by-speaker --json outputs")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train", type=int, default=8000)
    p.add_argument("--valid", type=int, default=400)
    p.add_argument("--test", type=int, default=800)
    p.add_argument("--flite", type=float, default=0.0,
                   help="share of training utterances spoken by flite voices")
    args = p.parse_args()
    {"plan": plan, "augment": augment, "table": table}[args.step](args)


if __name__ == "__main__":
    main()

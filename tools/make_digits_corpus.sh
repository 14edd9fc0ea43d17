#!/usr/bin/env bash
# Synthesises the spoken-digit corpus for `rnn asr` with espeak-ng (Debian espeak-ng) and
# flite (Debian flite, a share of the training set only) and augments it with seeded noise, volume, padding, telephone band-limiting and mu-law
# (tools/digits_augment.py, Debian python3-numpy). Deterministic for a given seed.
#
#   tools/make_digits_corpus.sh [--out DIR] [--train N] [--valid N] [--test N] [--seed S]
#                               [--flite SHARE]
#
# Defaults: --out cache/digits --train 8000 --valid 400 --test 800 --seed 1 --flite 0.1
# (--flite 0: espeak-ng only, flite not needed).
# Writes DIR/{train,valid,test}/*.wav (16-bit mono, 22,050 Hz from espeak-ng, 8 or 16 kHz
# from flite) and
# DIR/{train,valid,test}.tsv with lines "<wav path relative to DIR><TAB><text><TAB><voice>".
# Each utterance is 1 to 7 digits, the digit 0 spoken as "zero" or "oh" at random; a voice
# is an accent plus a voice variant (en-gb-scotland+f3), with random speed, pitch and word
# gap; half of the training utterances are also time-scaled by 0.8-1.2 (a vocal-tract
# length change). Whole voice variants are held out: those of valid and test never occur
# in train, and test's never occur in valid; valid and test are espeak-ng only.
#
# Real recordings use the same format: put "<file.wav><TAB><transcript>[<TAB><speaker>]"
# lines into a .tsv beside the WAV files (any format the reader accepts, any sample rate)
# and pass it to `rnn asr train|eval --data`.
set -euo pipefail

out=cache/digits
n_train=8000
n_valid=400
n_test=800
seed=1
flite=0.1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --train) n_train=$2; shift 2 ;;
    --valid) n_valid=$2; shift 2 ;;
    --test) n_test=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --flite) flite=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "make_digits_corpus.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
command -v espeak-ng >/dev/null || { echo "make_digits_corpus.sh: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
if [[ $flite != 0 ]]; then
  command -v flite >/dev/null || { echo "make_digits_corpus.sh: flite not found (apt-get install flite, or --flite 0)" >&2; exit 1; }
fi
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "make_digits_corpus.sh: /usr/bin/python3 lacks NumPy (apt-get install python3-numpy)" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# 1. The plan: one line per utterance with every random choice (python, seeded).
/usr/bin/python3 "$here/digits_augment.py" plan --seed "$seed" --train "$n_train" \
  --valid "$n_valid" --test "$n_test" --flite "$flite" --out "$out"
# 2. Synthesis: espeak-ng or flite, two processes at a time.
synth() {
  # fields: split id voice speed pitch gap amplitude text
  local split=$1 id=$2 voice=$3 speed=$4 pitch=$5 gap=$6 amp=$7; shift 7
  if [[ $voice == flite:* ]]; then
    # speed (words/min) as a duration stretch around 170 wpm; pitch 20-85 as a 110-240 Hz mean
    flite -voice "${voice#flite:}" --setf duration_stretch="$(awk -v s="$speed" 'BEGIN { printf "%.3f", 170 / s }')" \
      --setf int_f0_target_mean=$((70 + 2 * pitch)) -t "$*" -o "$OUT_DIR/raw/$split/$id.wav"
  else
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -g "$gap" -a "$amp" -w "$OUT_DIR/raw/$split/$id.wav" "$*"
  fi
}
export -f synth
export OUT_DIR=$out
mkdir -p "$out/raw/train" "$out/raw/valid" "$out/raw/test"
cut -f1-8 "$out/plan.tsv" | tr '\t' '\n' | xargs -d '\n' -n 8 -P 2 bash -c 'synth "$@"' _
# 3. Augmentation and the transcript files.
/usr/bin/python3 "$here/digits_augment.py" augment --out "$out"
rm -rf "$out/raw"
for split in train valid test; do
  echo "$split: $(wc -l < "$out/$split.tsv") utterances, $(cut -f3 "$out/$split.tsv" | sort -u | wc -l) voices" >&2
done

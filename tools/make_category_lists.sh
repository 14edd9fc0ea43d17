#!/usr/bin/env bash
# Builds category lists (the input of `rnn lm train --categories`, docs/LANGUAGE_MODELING.md)
# from corpora already fetched by tools/fetch_text.sh into CACHE_DIR (default: cache).
# A category list has one document per line, 'category<TAB>path', paths relative to the list.
#
#   tools/make_category_lists.sh sotu [CACHE_DIR]  -> CACHE_DIR/sotu_decades.tsv
#       every address of CACHE_DIR/sotu/YEAR_NAME_PARTY.txt, category = its decade
#       (1790s ... 2020s: 24 categories, 233 documents)
#   tools/make_category_lists.sh kjv [CACHE_DIR]   -> CACHE_DIR/kjv_books/NN_Book.txt,
#       CACHE_DIR/kjv_books.tsv (category = the book, 66) and CACHE_DIR/kjv_groups.tsv
#       (category = law, history, poetry, major_prophets, minor_prophets, gospels_acts,
#       epistles, revelation). A book starts at its "Book 1" chapter line; the text is
#       kjv.txt cut there, unchanged (the chapter lines name the book).
#   tools/make_category_lists.sh all [CACHE_DIR]
#
# Deterministic (file-name order) and idempotent (the outputs are rewritten each time).
set -euo pipefail

usage() {
  echo "usage: $0 sotu|kjv|all [CACHE_DIR]" >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
corpus="$1"
cache_dir="${2:-cache}"

make_sotu() {
  [[ -d "$cache_dir/sotu" ]] || { echo "$0: $cache_dir/sotu missing: run tools/fetch_text.sh sotu $cache_dir" >&2; exit 1; }
  local out="$cache_dir/sotu_decades.tsv" tmp
  tmp="$(mktemp "$cache_dir/.sotu_decades.XXXXXX")"
  for f in $(cd "$cache_dir/sotu" && LC_ALL=C ls *.txt); do
    printf '%s0s\tsotu/%s\n' "${f:0:3}" "$f" >> "$tmp"
  done
  mv "$tmp" "$out"
  echo "$0: wrote $out ($(wc -l < "$out") documents, $(cut -f1 "$out" | uniq | wc -l) categories)" >&2
}

make_kjv() {
  [[ -s "$cache_dir/kjv.txt" ]] || { echo "$0: $cache_dir/kjv.txt missing: run tools/fetch_text.sh kjv $cache_dir" >&2; exit 1; }
  rm -rf "$cache_dir/kjv_books"
  mkdir -p "$cache_dir/kjv_books"
  # A line "Name 1" (not indented) starts book Name; everything up to the next one is its text.
  LC_ALL=C awk -v dir="$cache_dir/kjv_books" '
    /^[^ ].* 1$/ {
      name = $0; sub(/ 1$/, "", name)
      if (name != book) {
        if (file != "") close(file)
        book = name; n++
        safe = name; gsub(/ /, "_", safe)
        file = sprintf("%s/%02d_%s.txt", dir, n, safe)
      }
    }
    file != "" { print > file }
  ' "$cache_dir/kjv.txt"
  local books=(law:1-5 history:6-17 poetry:18-22 major_prophets:23-27 minor_prophets:28-39
               gospels_acts:40-44 epistles:45-65 revelation:66-66)
  : > "$cache_dir/kjv_books.tsv.tmp"
  : > "$cache_dir/kjv_groups.tsv.tmp"
  for f in $(cd "$cache_dir/kjv_books" && LC_ALL=C ls *.txt); do
    local n=$((10#${f:0:2})) name="${f:3}"
    name="${name%.txt}"
    printf '%s\tkjv_books/%s\n' "$name" "$f" >> "$cache_dir/kjv_books.tsv.tmp"
    for g in "${books[@]}"; do
      local range="${g#*:}"
      if (( n >= ${range%-*} && n <= ${range#*-} )); then
        printf '%s\tkjv_books/%s\n' "${g%%:*}" "$f" >> "$cache_dir/kjv_groups.tsv.tmp"
      fi
    done
  done
  local count
  count="$(wc -l < "$cache_dir/kjv_books.tsv.tmp")"
  [[ "$count" -eq 66 ]] || { echo "$0: found $count books in kjv.txt, expected 66" >&2; exit 1; }
  mv "$cache_dir/kjv_books.tsv.tmp" "$cache_dir/kjv_books.tsv"
  mv "$cache_dir/kjv_groups.tsv.tmp" "$cache_dir/kjv_groups.tsv"
  echo "$0: wrote $cache_dir/kjv_books/ (66 books), $cache_dir/kjv_books.tsv, $cache_dir/kjv_groups.tsv" >&2
}

case "$corpus" in
  sotu) make_sotu ;;
  kjv) make_kjv ;;
  all) make_sotu; make_kjv ;;
  *) usage ;;
esac

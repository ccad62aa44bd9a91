#!/usr/bin/env bash
# Refreshes fuzz/corpus/<target>/ from the corpora a fuzzer grew: a set-cover
# merge of every input directory, then a greedy pick of at most COUNT files by
# the edges each covers alone (one libFuzzer process per file), so a few tens
# of small files keep most of the coverage. Run from the repository root after
# `cargo fuzz build --sanitizer none`; prints the edges kept.
#
#   fuzz/minimise.sh TARGET COUNT INPUT_DIR...
set -euo pipefail
target=$1 count=$2
shift 2
bin=${FUZZ_BIN_DIR:-fuzz/target/x86_64-unknown-linux-gnu/release}/$target
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/merged"
"$bin" -set_cover_merge=1 "$work/merged" "$@" >/dev/null 2>&1
# Every file's own edges: libFuzzer's merge control file lists, per input,
# only the edges no earlier input covered, so each file gets its own process.
ctl=$work/all.ctl
files=("$work"/merged/*)
{ echo "${#files[@]}"; echo 0; printf '%s\n' "${files[@]}"; } >"$ctl"
i=0
for f in "${files[@]}"; do
  printf '1\n0\n%s\n' "$f" >"$work/one.ctl"
  "$bin" -merge_inner=1 -merge_control_file="$work/one.ctl" >/dev/null 2>&1
  sed -nE "s/^COV 0( |$)/COV $i\1/p" "$work/one.ctl" >>"$ctl"
  i=$((i + 1))
done
mkdir "$work/picked"
python3 - "$ctl" "$count" "$work/picked" <<'PY'
import os, shutil, sys
ctl, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(ctl).read().split("\n")
n = int(lines[0])
files = lines[2:2 + n]
edges = {}
for line in lines[2 + n:]:
    parts = line.split()
    if parts and parts[0] == "COV":
        edges[int(parts[1])] = set(parts[2:])
covered, size = set(), lambda i: os.path.getsize(files[i])
for _ in range(count):
    best = max(edges, key=lambda i: (len(edges[i] - covered), -size(i)), default=None)
    if best is None or not edges[best] - covered:
        break
    covered |= edges.pop(best)
    shutil.copy(files[best], out)
PY
rm -rf "fuzz/corpus/$target"
mkdir -p "fuzz/corpus/$target"
cp "$work"/picked/* "fuzz/corpus/$target/"
kept=$("$bin" -runs=0 "fuzz/corpus/$target" 2>&1 | grep -o 'INITED cov: [0-9]*' | cut -d' ' -f3)
all=$("$bin" -runs=0 "$work/merged" 2>&1 | grep -o 'INITED cov: [0-9]*' | cut -d' ' -f3)
echo "$target: $(ls "fuzz/corpus/$target" | wc -l) files, $(cat "fuzz/corpus/$target"/* | wc -c) bytes, $kept of $all edges"

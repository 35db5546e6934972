#!/usr/bin/env bash
# `berth image unpack` vs `umoci unpack` of the same ~100 MB, three-layer image (built by
# umoci from files of this host), and a second unpack of the image with --overlay (its
# snapshots already there: a mount instead of a copy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth")
work=$(mktemp -d /tmp/berth-image-bench-XXXXXX)
runs=${RUNS:-10}
cleanup() {
  "$berth" image umount "$work/overlay" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The previous run's tree is moved aside, not deleted, until the end: ext4 skips inodes freed in
# the last 30 s when it allocates (recently_deleted), so creating 9000 files right after an
# rm -rf of 9000 costs ~300 us each instead of ~30 us — for both tools alike, and it would be
# the filesystem being measured.

# Three layers: python's library, perl's, and the docs of this host (~100 MB in all, with a deletion).
umoci init --layout "$work/layout" >/dev/null
umoci new --image "$work/layout:bench" >/dev/null
umoci unpack --image "$work/layout:bench" "$work/build" >/dev/null
for src in /usr/lib/python3.11 /usr/share/perl /usr/share/doc; do
  mkdir -p "$work/build/rootfs$(dirname "$src")"
  cp -a "$src" "$work/build/rootfs$src"
  [ "$src" = /usr/share/doc ] && rm -rf "$work/build/rootfs/usr/lib/python3.11/test"
  umoci repack --image "$work/layout:bench" "$work/build" >/dev/null
done
rm -rf "$work/build"
size=$(du -sm "$work/layout" | cut -f1)

hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/unpack.json" \
  --prepare "sh -c 'mkdir -p $work/old; for d in $work/u $work/b; do [ ! -e \$d ] || mv \$d $work/old/\$\$; done; sync'" \
  -n umoci "umoci unpack --image $work/layout:bench $work/u" \
  -n berth "$berth image --store $work/store unpack oci:$work/layout:bench $work/b" >/dev/null
# Snapshots made once; every further overlay bundle is a mount.
"$berth" image --store "$work/store" unpack --overlay "oci:$work/layout:bench" "$work/overlay"
"$berth" image umount "$work/overlay"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/overlay.json" \
  --prepare "$berth image umount $work/overlay" \
  -n overlay "$berth image --store $work/store unpack --overlay oci:$work/layout:bench $work/overlay" >/dev/null

median() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$1"; }
u=$(median "$work/unpack.json" umoci); b=$(median "$work/unpack.json" berth); o=$(median "$work/overlay.json" overlay)
printf "image unpack (%d MB compressed, 3 layers), median of %d (ms): umoci %.0f  berth %.0f  berth --overlay (second bundle) %.1f\n" "$size" "$runs" "$u" "$b" "$o"
printf "ratio berth/umoci: %.2f (target <= 0.50)   overlay/umoci: %.3f\n" "$(echo "$b / $u" | bc -l)" "$(echo "$o / $u" | bc -l)"

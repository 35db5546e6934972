#!/usr/bin/env bash
# `berth build` against `buildah bud` (Debian's 1.28, overlay storage, chroot isolation), one
# hyperfine run, same busybox base (Debian's busybox-static, imported into private stores), same
# context: a 10-instruction Containerfile whose COPY brings 3000 files (3 KiB each, 300 dirs).
#   cold: only the base in either store (the last build's image, cache entries, layers and, for
#         berth, their snapshots removed before each run), --no-cache; buildah with --layers (a layer
#         and a cache entry per step, as berth makes them);
#   warm: every step from the cache (nothing in the context changed).
# Targets: cold <= 0.5x buildah, warm <= 0.2x buildah.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth")
work=$(mktemp -d /tmp/berth-build-bench-XXXXXX)
runs=${RUNS:-10}
A="buildah --root $work/root --runroot $work/runroot --storage-driver overlay"
B="$berth --store $work/store --root $work/run"
cleanup() {
  $A rm -a >/dev/null 2>&1 || true
  $A rmi -a -f >/dev/null 2>&1 || true
  # buildah's overlay mounts under its root, if any are left.
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$here/../scripts/busybox-rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
$B image import "$work/busybox.tar" localhost/bench/busybox >/dev/null
$A from --name base scratch >/dev/null
$A copy base "$work/rootfs" / >/dev/null
$A commit -q base localhost/bench/busybox >/dev/null
$A rm base >/dev/null

ctx=$work/ctx
mkdir -p "$ctx"
head -c 3072 /dev/urandom > "$work/blob"
for d in $(seq -w 0 299); do
  mkdir -p "$ctx/files/d$d"
  for f in $(seq 0 9); do { echo "$d/$f"; cat "$work/blob"; } > "$ctx/files/d$d/f$f"; done
done
cat > "$ctx/Containerfile" <<'CF'
FROM localhost/bench/busybox
ARG VERSION=1
ENV APP=/app VERSION=${VERSION}
WORKDIR /app
COPY files/ /app/files/
RUN echo "built $VERSION" > /app/stamp && ls /app/files | wc -l > /app/count
LABEL org.example.bench=build
EXPOSE 8080
USER 0
CMD ["sh", "-c", "cat /app/count"]
CF

# Both must build the same image before their times mean anything.
$B build -q -t bench/out "$ctx" >/dev/null
$A bud -q --layers --isolation chroot --pull-never -t bench/out "$ctx" >/dev/null
[ "$($B run --rm --network none bench/out)" = 300 ] || { echo "berth's image does not say 300" >&2; exit 1; }

# What a cold run starts from: the base image alone.
cat > "$work/cold-berth" <<SH
$B image rm bench/out >/dev/null 2>&1 || true
$B image gc --build-cache >/dev/null
SH
cat > "$work/cold-buildah" <<SH
$A rmi -f bench/out >/dev/null 2>&1 || true
$A rmi --prune >/dev/null 2>&1 || true
SH
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/build.json" \
  --prepare "bash $work/cold-berth" --prepare "bash $work/cold-buildah" --prepare true --prepare true \
  -n berth-cold "$B build -q --no-cache -t bench/out $ctx" \
  -n buildah-cold "$A bud -q --layers --no-cache --isolation chroot --pull-never -t bench/out $ctx" \
  -n berth-warm "$B build -q -t bench/out $ctx" \
  -n buildah-warm "$A bud -q --layers --isolation chroot --pull-never -t bench/out $ctx" >/dev/null
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/build.json"; }
bc_=$(median berth-cold); ac=$(median buildah-cold); bw=$(median berth-warm); aw=$(median buildah-warm)
printf "build, 10 instructions, 3000-file COPY, median of %d (ms): cold berth %.0f  buildah %.0f  ratio %.2f (target <= 0.50)\n" \
  "$runs" "$bc_" "$ac" "$(echo "$bc_ / $ac" | bc -l)"
printf "                                                  warm berth %.0f  buildah %.0f  ratio %.2f (target <= 0.20)\n" \
  "$bw" "$aw" "$(echo "$bw / $aw" | bc -l)"

#!/usr/bin/env bash
# `make run`: the bundled busybox image (Debian's busybox-static) imported into a private store,
# then `berth run --rm` of it — hardened by default — reporting what it sees next to the host.
set -euo pipefail
berth=$(realpath "$1")
work=$(realpath -m "$2")
rm -rf "$work"
mkdir -p "$work"
"$(dirname "$0")/busybox-rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
engine=("$berth" --store "$work/store" --root "$work/run")
"${engine[@]}" image import "$work/busybox.tar" demo/busybox >/dev/null
trap '"${engine[@]}" rm -a -f >/dev/null 2>&1 || true' EXIT
report='echo "pid:      $$"; echo "hostname: $(hostname)"; echo "namespaces:"; for n in cgroup ipc mnt net pid uts; do echo "  $n -> $(readlink /proc/self/ns/$n)"; done
grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | sed "s/^/  /"; touch /probe 2>/dev/null && echo "  root filesystem: writable" || echo "  root filesystem: read-only"'

echo "== inside the container (berth run --rm demo/busybox) =="
"${engine[@]}" run --rm demo/busybox sh -c "$report"
echo "== on the host =="
sh -c "$report"

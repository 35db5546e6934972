#!/usr/bin/env bash
# The engine against podman, side by side in one hyperfine run each, same busybox image (Debian's
# busybox-static, imported into private stores):
#   run: `berth run --rm IMAGE true` vs `podman run --rm IMAGE true` with crun and with runc;
#   ps:  `berth ps -a` vs `podman ps -a` with 100 containers (created, not running) in each store.
# Inside a private mount namespace without cgroup2, for crun's sake (it refuses hybrid hosts).
# Targets: run <= 0.3x podman, ps <= 0.2x podman.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth")
work=$(mktemp -d /tmp/berth-engine-bench-XXXXXX)
runs=${RUNS:-20}
P="podman --root $work/root --runroot $work/runroot --tmpdir $work/tmp --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
B="$berth --store $work/store --root $work/run"
cleanup() {
  $B rm -a -f >/dev/null 2>&1 || true
  $P system reset --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$here/../scripts/busybox-rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
$P import "$work/busybox.tar" localhost/bench/busybox >/dev/null
$B image import "$work/busybox.tar" localhost/bench/busybox >/dev/null

pflags="--network none --pull never --ulimit nofile=20000:20000 --ulimit nproc=32768:32768"
unshare -m --propagation private bash -euo pipefail -c "
  umount /sys/fs/cgroup/unified
  hyperfine -N --warmup 3 --runs $runs --export-json $work/run.json \
    -n berth '$B run --rm localhost/bench/busybox true' \
    -n podman-crun '$P run --rm $pflags --runtime /usr/bin/crun localhost/bench/busybox true' \
    -n podman-runc '$P run --rm $pflags --runtime /usr/sbin/runc localhost/bench/busybox true' >/dev/null
  for i in \$(seq 100); do
    $B create localhost/bench/busybox true >/dev/null
    $P create $pflags localhost/bench/busybox true >/dev/null
  done
  hyperfine -N --warmup 3 --runs $runs --export-json $work/ps.json \
    -n berth '$B ps -a' -n podman '$P ps -a' >/dev/null
"
median() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$work/$1.json"; }
b=$(median run berth); c=$(median run podman-crun); r=$(median run podman-runc)
printf "run --rm true, median of %d (ms): berth %.1f  podman+crun %.1f  podman+runc %.1f   berth/podman+crun %.2f  berth/podman+runc %.2f (target <= 0.30)\n" \
  "$runs" "$b" "$c" "$r" "$(echo "$b / $c" | bc -l)" "$(echo "$b / $r" | bc -l)"
bp=$(median ps berth); pp=$(median ps podman)
printf "ps -a with 100 containers, median of %d (ms): berth %.1f  podman %.1f   berth/podman %.2f (target <= 0.20)\n" \
  "$runs" "$bp" "$pp" "$(echo "$bp / $pp" | bc -l)"

#!/usr/bin/env bash
# podman run --rm IMAGE true with --runtime berth, runc and crun (a private store, a busybox
# image imported from Debian's busybox-static), and Berth's own share of podman's time.
# Like run.sh, inside a private mount namespace without cgroup2, for crun's sake.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth-runtime")
work=$(mktemp -d /tmp/berth-podman-bench-XXXXXX)
runs=${RUNS:-20}
podman() { command podman --root "$work/root" --runroot "$work/runroot" --tmpdir "$work/tmp" --storage-driver vfs \
  --cgroup-manager cgroupfs --events-backend file "$@"; }
cleanup() { podman system reset --force >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

"$here/../scripts/busybox-rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
podman import "$work/busybox.tar" localhost/bench/busybox >/dev/null

# Berth's share: every call podman makes to the runtime, timed by a wrapper.
cat > "$work/timed-berth" <<SH
#!/bin/sh
s=\$(date +%s%N); "$berth" "\$@"; rc=\$?; e=\$(date +%s%N); echo \$((e - s)) >> "$work/berth-ns"; exit \$rc
SH
chmod +x "$work/timed-berth"

export WORK=$work RUNS=$runs BERTH=$berth
flags="--network none --pull never --ulimit nofile=20000:20000 --ulimit nproc=32768:32768"
p="podman --root $work/root --runroot $work/runroot --tmpdir $work/tmp --storage-driver vfs --cgroup-manager cgroupfs --events-backend file run --rm $flags"
unshare -m --propagation private bash -euo pipefail -c "
  umount /sys/fs/cgroup/unified
  hyperfine -N --warmup 3 --runs $runs --export-json $work/podman.json \
    -n berth '$p --runtime $berth localhost/bench/busybox true' \
    -n runc '$p --runtime /usr/sbin/runc localhost/bench/busybox true' \
    -n crun '$p --runtime /usr/bin/crun localhost/bench/busybox true' >/dev/null
  start=\$(date +%s%N)
  for i in \$(seq 10); do $p --runtime $work/timed-berth localhost/bench/busybox true; done
  echo \$(( \$(date +%s%N) - start )) > $work/total-ns
"
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/podman.json"; }
b=$(median berth); r=$(median runc); c=$(median crun)
printf "podman run --rm true, median of %d (ms): berth %.1f  runc %.1f  crun %.1f   berth/runc %.2f  berth/crun %.2f\n" \
  "$runs" "$b" "$r" "$c" "$(echo "$b / $r" | bc -l)" "$(echo "$b / $c" | bc -l)"
share=$(awk -v total="$(cat "$work/total-ns")" '{s += $1} END {printf "%.1f", 100 * s / total}' "$work/berth-ns")
calls=$(wc -l < "$work/berth-ns")
printf "berth's own share of podman's time: %s%% (%d runtime calls in 10 runs)\n" "$share" "$calls"

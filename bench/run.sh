#!/usr/bin/env bash
# `make bench`: berth vs runc vs crun running /bin/true from the same busybox bundle.
# crun 1.8.1 refuses this hybrid cgroup host, so the whole bench runs in a private mount
# namespace with /sys/fs/cgroup/unified unmounted there (the host keeps its mount).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth")
work=$(mktemp -d /tmp/berth-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-50}

"$here/../scripts/busybox-rootfs.sh" "$work/bundle/rootfs"
"$berth" spec --bundle "$work/bundle"
# ociVersion 1.0.2: crun 1.8.1 rejects newer versions.
jq '.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["true"]' \
  "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"

export BERTH=$berth WORK=$work RUNS=$runs
unshare -m --propagation private bash -euo pipefail -c '
  umount /sys/fs/cgroup/unified
  cd "$WORK/bundle"
  hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/run.json" \
    -n berth "$BERTH --root $WORK/berth-state run bench-berth" \
    -n runc "runc --root $WORK/runc-state run bench-runc" \
    -n crun "crun --root $WORK/crun-state run bench-crun" >/dev/null
  for rt in berth runc crun; do
    case $rt in berth) cmd="$BERTH --root $WORK/berth-state run rss-berth";; *) cmd="$rt --root $WORK/$rt-state run rss-$rt";; esac
    /usr/bin/time -f "%M" -o "$WORK/rss-$rt" $cmd
  done
'
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/run.json"; }
b=$(median berth); r=$(median runc); c=$(median crun)
printf "run /bin/true, median of %d (ms): berth %.1f  runc %.1f  crun %.1f\n" "$runs" "$b" "$r" "$c"
printf "ratio berth/runc: %.2f (target <= 0.50)   berth/crun: %.2f (target <= 1.00)\n" \
  "$(echo "$b / $r" | bc -l)" "$(echo "$b / $c" | bc -l)"
printf "peak RSS (KiB, max over the process tree): berth %s  runc %s  crun %s\n" \
  "$(cat "$work/rss-berth")" "$(cat "$work/rss-runc")" "$(cat "$work/rss-crun")"

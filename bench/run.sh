#!/usr/bin/env bash
# `make bench`: berth vs runc vs crun running /bin/true from the same busybox bundle, with
# the default config (`berth spec`), the hardened one (`berth spec --hardened`: seccomp
# allowlist, capabilities dropped, no_new_privs), the default with memory and pids limits
# (create + start + delete through `run`), and exec of /bin/true into a running container. crun 1.8.1 refuses this hybrid
# cgroup host, so everything runs in a private mount namespace with
# /sys/fs/cgroup/unified unmounted there (the host keeps its mount).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth-runtime")
work=$(mktemp -d /tmp/berth-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-50}

for config in default hardened limits; do
  bundle=$work/$config
  "$here/../scripts/busybox-rootfs.sh" "$bundle/rootfs"
  if [ $config = hardened ]; then "$berth" spec --hardened --bundle "$bundle"; else "$berth" spec --bundle "$bundle"; fi
  # ociVersion 1.0.2: crun 1.8.1 rejects newer versions.
  filter='.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["true"]'
  [ $config = limits ] && filter="$filter"' | .linux.resources.memory = {"limit": 67108864, "swap": 67108864} | .linux.resources.pids = {"limit": 100}'
  jq "$filter" "$bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$bundle/config.json"
done

export BERTH=$berth WORK=$work RUNS=$runs
unshare -m --propagation private bash -euo pipefail -c '
  umount /sys/fs/cgroup/unified
  for config in default hardened limits; do
    cd "$WORK/$config"
    hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/$config.json" \
      -n berth "$BERTH --root $WORK/berth-state run bench-berth" \
      -n runc "runc --root $WORK/runc-state run bench-runc" \
      -n crun "crun --root $WORK/crun-state run bench-crun" >/dev/null
  done
  # exec of /bin/true into a running container.
  cd "$WORK/default"
  jq ".process.args = [\"sleep\", \"600\"]" config.json > "$WORK/sleep.json"
  mkdir -p "$WORK/sleeper" && cp -a rootfs "$WORK/sleeper/" && mv "$WORK/sleep.json" "$WORK/sleeper/config.json"
  cd "$WORK/sleeper"
  $BERTH --root $WORK/berth-state run -d exec-berth
  runc --root $WORK/runc-state run -d exec-runc </dev/null >/dev/null 2>&1
  crun --root $WORK/crun-state run -d exec-crun </dev/null >/dev/null 2>&1
  hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/exec.json" \
    -n berth "$BERTH --root $WORK/berth-state exec exec-berth true" \
    -n runc "runc --root $WORK/runc-state exec exec-runc true" \
    -n crun "crun --root $WORK/crun-state exec exec-crun true" >/dev/null
  $BERTH --root $WORK/berth-state delete -f exec-berth
  runc --root $WORK/runc-state delete -f exec-runc
  crun --root $WORK/crun-state delete -f exec-crun
  cd "$WORK/default"
  for rt in berth runc crun; do
    case $rt in berth) cmd="$BERTH --root $WORK/berth-state run rss-berth";; *) cmd="$rt --root $WORK/$rt-state run rss-$rt";; esac
    /usr/bin/time -f "%M" -o "$WORK/rss-$rt" $cmd
  done
'
median() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$work/$1.json"; }
for config in default hardened limits exec; do
  b=$(median $config berth); r=$(median $config runc); c=$(median $config crun)
  printf "%-8s /bin/true, median of %d (ms): berth %.1f  runc %.1f  crun %.1f   berth/runc %.2f  berth/crun %.2f\n" \
    "$config" "$runs" "$b" "$r" "$c" "$(echo "$b / $r" | bc -l)" "$(echo "$b / $c" | bc -l)"
done
echo "targets: run berth/runc <= 0.50, berth/crun <= 1.00; exec berth/runc <= 0.50"
printf "peak RSS (KiB, max over the process tree): berth %s  runc %s  crun %s\n" \
  "$(cat "$work/rss-berth")" "$(cat "$work/rss-runc")" "$(cat "$work/rss-crun")"

#!/usr/bin/env bash
# `make run`: a busybox bundle with the hardened default config, then a container that
# reports what it sees next to what the host sees.
set -euo pipefail
berth=$(realpath "$1")
bundle=$2
rm -rf "$bundle"
mkdir -p "$bundle"
"$(dirname "$0")/busybox-rootfs.sh" "$bundle/rootfs"
"$berth" spec --hardened --bundle "$bundle"
script='echo "pid:      $$"; echo "hostname: $(hostname)"; echo "namespaces:"; for n in cgroup ipc mnt net pid uts; do echo "  $n -> $(readlink /proc/self/ns/$n)"; done
grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | sed "s/^/  /"; touch /probe 2>/dev/null || echo "  root filesystem: read-only"'
jq --arg s "$script" '.process.terminal = false | .process.args = ["sh", "-c", $s]' "$bundle/config.json" > "$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

echo "== inside the container (berth run) =="
"$berth" --root "$(realpath "$bundle")/state" run --bundle "$bundle" "berth-demo-$$"
echo "== on the host =="
echo "pid:      $$"
echo "hostname: $(hostname)"
for n in cgroup ipc mnt net pid uts; do echo "  $n -> $(readlink /proc/self/ns/$n)"; done
grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | sed "s/^/  /"

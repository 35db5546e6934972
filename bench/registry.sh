#!/usr/bin/env bash
# Pull and push of a ~200 MB, 6-layer image through a loopback docker-registry, side by side in one
# hyperfine run each: `berth image copy docker://… oci:DIR` vs `skopeo copy`, the same for push, and
# pull-into-the-store + unpack vs `skopeo copy` + `umoci unpack`; medians, ratios and peak RSS.
# Target: every ratio <= 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
work=$(mktemp -d /tmp/berth-bench-registry.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

berth=$PWD/out/berth
[ -x "$berth" ] || { echo "out/berth is missing: make build" >&2; exit 1; }

# Two registries: one to pull from, one to push to whose storage is wiped before every push (so
# neither tool can skip or cross-mount a blob it pushed before; skopeo's blob-info cache would).
start_registry() { # NAME -> sets ${NAME}_host, ${NAME}_pid, ${NAME}_storage
  local name=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/$name"
  cat >"$work/$name/config.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/$name/storage}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$port", secret: bench}
YML
  docker-registry serve "$work/$name/config.yml" >"$work/$name/registry.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  printf -v "${name}_host" '%s' "127.0.0.1:$port"
  printf -v "${name}_storage" '%s' "$work/$name/storage"
}
pids=()
start_registry src
start_registry dst
host=$src_host

# The image: 6 gzip'd tar layers of random bytes (~33 MB each), an OCI config and manifest.
layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/gen"
layers= diffs=
for i in 1 2 3 4 5 6; do
  head -c 33000000 /dev/urandom >"$work/gen/data$i"
  tar -C "$work/gen" -cf "$work/gen/layer$i.tar" "data$i"
  diff=$(sha256sum "$work/gen/layer$i.tar" | cut -d' ' -f1)
  gzip -1 -c "$work/gen/layer$i.tar" >"$work/gen/layer$i.tgz"
  d=$(sha256sum "$work/gen/layer$i.tgz" | cut -d' ' -f1)
  mv "$work/gen/layer$i.tgz" "$layout/blobs/sha256/$d"
  layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$(stat -c %s "$layout/blobs/sha256/$d")}"
  diffs+="${diffs:+,}\"sha256:$diff\""
  rm -f "$work/gen/layer$i.tar" "$work/gen/data$i"
done
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' "$diffs" >"$work/config.json"
c=$(sha256sum "$work/config.json" | cut -d' ' -f1); cp "$work/config.json" "$layout/blobs/sha256/$c"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$c" "$(stat -c %s "$work/config.json")" "$layers" >"$work/manifest.json"
m=$(sha256sum "$work/manifest.json" | cut -d' ' -f1); cp "$work/manifest.json" "$layout/blobs/sha256/$m"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$m" "$(stat -c %s "$work/manifest.json")" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
echo "image: $(du -sm "$layout/blobs" | cut -f1) MB in 6 layers"

skopeo copy --quiet --dest-tls-verify=false "oci:$layout:v1" "docker://$host/bench/src:v1"

hyperfine --runs "$runs" --warmup 1 --export-json "$work/pull.json" \
  -n berth --prepare "rm -rf $work/pull-berth" "$berth image copy -q --src-tls-verify=false docker://$host/bench/src:v1 oci:$work/pull-berth:v1" \
  -n skopeo --prepare "rm -rf $work/pull-skopeo" "skopeo copy --quiet --src-tls-verify=false docker://$host/bench/src:v1 oci:$work/pull-skopeo:v1"
hyperfine --runs "$runs" --warmup 1 --export-json "$work/push.json" \
  -n berth --prepare "rm -rf $dst_storage/docker" "$berth image copy -q --dest-tls-verify=false oci:$layout:v1 docker://$dst_host/bench/push:v1" \
  -n skopeo --prepare "rm -rf $dst_storage/docker" "skopeo copy --quiet --dest-tls-verify=false oci:$layout:v1 docker://$dst_host/bench/push:v1"
# To a runnable root filesystem: Berth pulls into its store and unpacks; skopeo copies to a layout
# and umoci unpacks it.
hyperfine --runs "$runs" --warmup 1 --export-json "$work/unpack.json" \
  -n berth --prepare "rm -rf $work/store $work/bundle-berth" \
    "$berth image pull -q --store $work/store --tls-verify=false docker://$host/bench/src:v1 && $berth image unpack --store $work/store $host/bench/src:v1 $work/bundle-berth" \
  -n skopeo --prepare "rm -rf $work/pull-skopeo $work/bundle-umoci" \
    "skopeo copy --quiet --src-tls-verify=false docker://$host/bench/src:v1 oci:$work/pull-skopeo:v1 && umoci unpack --image $work/pull-skopeo:v1 $work/bundle-umoci >/dev/null"

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rm -rf "$work/pull-berth" "$work/pull-skopeo" "$dst_storage/docker"
pull_berth_rss=$(rss "$berth" image copy -q --src-tls-verify=false "docker://$host/bench/src:v1" "oci:$work/pull-berth:v1")
pull_skopeo_rss=$(rss skopeo copy --quiet --src-tls-verify=false "docker://$host/bench/src:v1" "oci:$work/pull-skopeo:v1")
push_berth_rss=$(rss "$berth" image copy -q --dest-tls-verify=false "oci:$layout:v1" "docker://$dst_host/bench/push:v1")
rm -rf "$dst_storage/docker"
push_skopeo_rss=$(rss skopeo copy --quiet --dest-tls-verify=false "oci:$layout:v1" "docker://$dst_host/bench/push:v1")

summary() {
  jq -r --arg op "$1" '
    (.results[] | select(.command=="berth") | .median) as $b |
    (.results[] | select(.command=="skopeo") | .median) as $s |
    "\($op): berth \($b*1000|floor) ms, skopeo \($s*1000|floor) ms, ratio \(($b/$s*100|floor)/100)"' "$2"
}
summary pull "$work/pull.json"
echo "  peak RSS: berth ${pull_berth_rss} KB, skopeo ${pull_skopeo_rss} KB"
summary push "$work/push.json"
echo "  peak RSS: berth ${push_berth_rss} KB, skopeo ${push_skopeo_rss} KB"
summary "pull+unpack" "$work/unpack.json"

#!/usr/bin/env bash
# berth serve under load, loopback only and bounded: N (50) distinct images (Debian's dpkg database
# of this host plus npm packages with real advisories) in a private docker-registry; the same N scans
# submitted one at a time (each waited for), then all at once, each run against a fresh --data (no
# cache). Reports p50/p99 job latency (queued → done, the service's own timestamps), throughput,
# errors, and the service's peak RSS (VmHWM) under the concurrent load.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$(realpath "$here/../out/berth")}
serve=$(realpath "$here/../out/berth-serve")
osv=$(realpath "$here/../tests/Berth.Supply.Tests/Data/osv")
n=${SCANS:-50}
workers=${WORKERS:-$(nproc)}
work=$(mktemp -d /tmp/berth-serve-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The registry: Debian's docker-registry, its own config and storage.
rport=$(free_port)
cat > "$work/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$rport}
log: {level: error}
YML
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$rport/v2/" >/dev/null && break; sleep 0.1; done

# N images: one layer each (the host's dpkg status and os-release, two vulnerable npm packages, a salt).
sha() { sha256sum "$1" | cut -d' ' -f1; }
for i in $(seq "$n"); do
  d="$work/img/$i"; r="$d/root"
  mkdir -p "$r/etc" "$r/var/lib/dpkg" "$r/app/node_modules/minimist" "$r/app/node_modules/lodash" "$d/oci/blobs/sha256"
  cp /etc/os-release "$r/etc/"; cp /var/lib/dpkg/status "$r/var/lib/dpkg/"
  echo '{"name":"minimist","version":"1.2.5"}' > "$r/app/node_modules/minimist/package.json"
  echo '{"name":"lodash","version":"4.17.20"}' > "$r/app/node_modules/lodash/package.json"
  echo "$i" > "$r/app/salt"
  tar -C "$r" --sort=name --mtime=@0 --owner=0 --group=0 -cf "$d/layer.tar" etc var app
  l=$(sha "$d/layer.tar"); cp "$d/layer.tar" "$d/oci/blobs/sha256/$l"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$l" > "$d/config.json"
  c=$(sha "$d/config.json"); cp "$d/config.json" "$d/oci/blobs/sha256/$c"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$c" "$(stat -c %s "$d/config.json")" "$l" "$(stat -c %s "$d/layer.tar")" > "$d/manifest.json"
  m=$(sha "$d/manifest.json"); cp "$d/manifest.json" "$d/oci/blobs/sha256/$m"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$d/oci/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
    "$m" "$(stat -c %s "$d/manifest.json")" > "$d/oci/index.json"
  skopeo copy -q --insecure-policy --dest-tls-verify=false "oci:$d/oci:1" "docker://127.0.0.1:$rport/bench/img$i:1"
  rm -rf "$d"
done
"$berth" db import --db "$work/db" "$osv" >/dev/null
echo "images: $n (layer: dpkg status with $(grep -c '^Package:' /var/lib/dpkg/status) packages + 2 npm), workers: $workers, cores: $(nproc)"

# One service per mode, fresh data; the client submits and polls with the service's token.
run_mode() {
  local mode=$1 data="$work/data-$1" port
  port=$(free_port)
  BERTH_SERVE_TOKEN=bench "$serve" --listen "127.0.0.1:$port" --data "$data" --policy "$data/policy.yaml" --db "$work/db" \
    --tls-verify=false --insecure-pull-policy --workers "$workers" 2>"$work/serve-$mode.log" &
  local pid=$!; pids+=($pid)
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
  python3 - "$mode" "$port" "$rport" "$n" "$pid" <<'PY'
import json, sys, threading, time, urllib.request
mode, port, rport, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r: return json.load(r)
def wait(i):
    deadline = time.time() + 600
    while time.time() < deadline:
        j = call("GET", f"/scan/{i}")
        if j["status"] in ("done", "failed"): return j
        time.sleep(0.02)
    raise SystemExit(f"job {i} not finished in 600 s")
peak = [0]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1])
images = [f"127.0.0.1:{rport}/bench/img{i}:1" for i in range(1, n + 1)]
start = time.time()
if mode == "serial":
    jobs = [wait(call("POST", "/scan", {"image": im})["id"]) for im in images]
else:
    ids = [None] * n
    def submit(k): ids[k] = call("POST", "/scan", {"image": images[k]})["id"]
    ts = [threading.Thread(target=submit, args=(k,)) for k in range(n)]
    [t.start() for t in ts]; [t.join() for t in ts]
    jobs = [wait(i) for i in ids]
wall = time.time() - start
from datetime import datetime
def ts(s): return datetime.fromisoformat(s).timestamp()
lat = sorted(ts(j["finished"]) - ts(j["created"]) for j in jobs)
errors = sum(1 for j in jobs if j["status"] != "done")
pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(json.dumps({"mode": mode, "scans": n, "errors": errors, "wall_s": round(wall, 2), "throughput_per_s": round(n / wall, 2),
                  "p50_s": round(pct(50), 3), "p99_s": round(pct(99), 3), "peak_rss_mb": round(rss() / 1024, 1)}))
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
serial=$(run_mode serial); echo "$serial"
concurrent=$(run_mode concurrent); echo "$concurrent"
python3 - "$serial" "$concurrent" <<'PY'
import json, sys
s, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"throughput: {c['throughput_per_s']}/s concurrent vs {s['throughput_per_s']}/s one at a time = {c['throughput_per_s'] / s['throughput_per_s']:.2f}x; errors {s['errors'] + c['errors']}")
PY

#!/usr/bin/env bash
# Signature verification and signing against a loopback docker-registry, one hyperfine run each:
#   verify: `berth image verify --key` of a signed image  vs  `skopeo copy docker://… oci:` — the
#           closest peer: the brief's peer is skopeo under a sigstoreSigned policy, but Debian's
#           skopeo 1.9 is built with sigstore disabled ("Debian-local change: sigstore disabled"), so
#           this times the copy alone, a lower bound of a verifying copy (a copy plus verification
#           is timed too: `berth image verify` then `berth image copy`, against the same skopeo copy);
#   sign:   `berth image sign --key` (skopeo's --sign-by-sigstore-private-key is disabled the same way:
#           skopeo copy docker://→docker:// of the same image, what it would do before signing, is the reference).
# Target: verify ratio <= 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
work=$(mktemp -d /tmp/berth-bench-sign.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
berth=$PWD/out/berth
[ -x "$berth" ] || { echo "out/berth is missing: make build" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/storage}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$port", secret: bench}
YML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
host=127.0.0.1:$port

# The image: one 4 MB layer of random bytes, pushed from an OCI layout.
mkdir -p "$work/gen"
head -c 4000000 /dev/urandom >"$work/gen/data"
tar -C "$work/gen" -cf "$work/layer.tar" data
"$berth" image --store "$work/store" import "$work/layer.tar" localhost/bench:v1 >/dev/null
"$berth" image --store "$work/store" push --dest-tls-verify=false localhost/bench:v1 "docker://$host/bench:v1" >/dev/null 2>&1
ref="docker://$host/bench:v1"

printf 'bench' >"$work/pass"
"$berth" key generate --output-prefix "$work/cosign" --passphrase-file "$work/pass" 2>/dev/null
"$berth" image sign --tls-verify=false --key "$work/cosign.key" --passphrase-file "$work/pass" "$ref" 2>/dev/null
"$berth" image verify --tls-verify=false --key "$work/cosign.pub" "$ref" >/dev/null 2>&1

echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/accept.json"
hyperfine --runs "$runs" --warmup 2 --export-json "$work/verify.json" \
  -n berth "$berth image verify --tls-verify=false --key $work/cosign.pub $ref" \
  -n berth-verify-copy "rm -rf $work/b-oci && $berth image verify --tls-verify=false --key $work/cosign.pub $ref >/dev/null 2>&1 && $berth image copy --src-tls-verify=false $ref oci:$work/b-oci:x" \
  -n skopeo "rm -rf $work/s-oci && skopeo --policy $work/accept.json copy -q --src-tls-verify=false $ref oci:$work/s-oci:x" >/dev/null
# The same key unencrypted (PKCS#8): what signing costs without cosign's scrypt (N=32768), which the key format imposes.
openssl pkcs8 -topk8 -nocrypt -in <(openssl ecparam -name prime256v1 -genkey -noout) -out "$work/plain.key" 2>/dev/null
hyperfine --runs "$runs" --warmup 2 --export-json "$work/sign.json" \
  -n berth "$berth image sign --tls-verify=false --key $work/cosign.key --passphrase-file $work/pass $ref" \
  -n berth-plain-key "$berth image sign --tls-verify=false --key $work/plain.key $ref" \
  -n skopeo "skopeo --policy $work/accept.json copy -q --src-tls-verify=false --dest-tls-verify=false $ref docker://$host/bench:v1" >/dev/null

summary() { # OP FILE
  jq -r --arg op "$1" '
    (.results[] | select(.command=="skopeo") | .median) as $s |
    .results[] | "\($op): \(.command) \(.median*1000|floor) ms, ratio to skopeo \((.median/$s*100|floor)/100)"' "$2"
}
summary verify "$work/verify.json"
summary sign "$work/sign.json"

#!/usr/bin/env bash
# `berth sbom` vs cdxgen (12, trivy plugin) on a ~300 MB Debian rootfs with npm and Python packages
# (copied from this host), and `berth scan` of that SBOM against a generated database of 100,000
# OSV records (every SBOM package has a few; the rest are other names). Prints both tools' package
# counts next to the timings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(realpath "$here/../out/berth")
node_dir=$(realpath "$here/../tests/Berth.Supply.Tests/node")
cdxgen="$node_dir/node_modules/.bin/cdxgen"
work=$(mktemp -d /tmp/berth-supply-bench-XXXXXX)
runs=${RUNS:-5}
records=${RECORDS:-100000}
trap 'rm -rf "$work"' EXIT
[ -x "$cdxgen" ] || "$here/../scripts/install-deps.sh" test

# The rootfs: dpkg's database and docs (copyright files), Python's library and dist-packages, and an
# npm tree (the tests' own, without cdxgen's plugin binaries, which only trivy would read).
root="$work/rootfs"
mkdir -p "$root/etc" "$root/var/lib" "$root/usr/share" "$root/usr/lib" "$root/srv/app"
cp /etc/os-release /etc/debian_version "$root/etc/"
cp -a /var/lib/dpkg "$root/var/lib/"
cp -a /usr/share/doc "$root/usr/share/"
cp -a /usr/lib/python3 /usr/lib/python3.11 "$root/usr/lib/"
rsync -a --exclude '@cdxgen' "$node_dir/node_modules" "$root/srv/app/" 2>/dev/null || {
  cp -a "$node_dir/node_modules" "$root/srv/app/"; rm -rf "$root/srv/app/node_modules/@cdxgen"; }
echo '{"name":"app","private":true}' > "$root/srv/app/package.json"
echo "rootfs: $(du -sm "$root" | cut -f1) MB, $(find "$root" | wc -l) files"

export FETCH_LICENSE=false CDXGEN_NO_BANNER=true
# cdxgen takes minutes a run (its trivy plugin walks the whole tree): CDXGEN_RUNS=1 on a busy machine.
hyperfine -N --runs "${CDXGEN_RUNS:-$runs}" --export-json "$work/cdxgen.json" \
  -n cdxgen "$cdxgen -t rootfs --no-install-deps -o $work/cdxgen.cdx.json $root" >/dev/null
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/sbom.json" \
  -n berth "$berth sbom dir:$root --format cyclonedx-json -o $work/berth.cdx.json" >/dev/null
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/sbom-spdx.json" \
  -n "berth spdx" "$berth sbom dir:$root --format spdx-json -o $work/berth.spdx.json" >/dev/null
count() { node -e "const c=require('$1').components||[];const t={};for(const x of c){if(!x.purl)continue;const k=x.purl.split('/')[0].slice(4);t[k]=(t[k]||0)+1};console.log(c.length, JSON.stringify(t))"; }
echo "packages: cdxgen $(count "$work/cdxgen.cdx.json"), berth $(count "$work/berth.cdx.json")"
echo "files in berth's documents: $(node -e "let n=0;for(const c of require('$work/berth.cdx.json').components||[])n+=(c.components||[]).length;console.log(n)") CycloneDX file components, $(node -e "console.log((require('$work/berth.spdx.json').files||[]).length)") SPDX files; sizes $(du -h "$work/berth.cdx.json" "$work/berth.spdx.json" | cut -f1 | tr '\n' ' ')"

# The database: for each SBOM package, a record whose range covers its version and one that is
# fixed below it; then records for made-up packages, up to $records.
python3 - "$work/berth.cdx.json" "$work/osv.json" "$records" <<'PY'
import json, sys, urllib.parse
sbom, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
eco = {"deb": "Debian:12", "npm": "npm", "pypi": "PyPI", "nuget": "NuGet"}
recs = []
def rec(i, e, name, events):
    return {"id": f"BENCH-{i}", "modified": "2024-01-01T00:00:00Z", "summary": f"generated {i}",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": e, "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}
for c in json.load(open(sbom))["components"]:
    p = c.get("purl")
    if not p: continue
    t = p[4:].split("/")[0]
    if t not in eco: continue
    name = c["name"] if t != "npm" or "group" not in c else c["group"] + "/" + c["name"]
    q = urllib.parse.parse_qs(p.split("?")[1]) if "?" in p else {}
    if t == "deb" and "upstream" in q: name = q["upstream"][0].split("@")[0]
    recs.append(rec(len(recs), eco[t], name, [{"introduced": "0"}, {"fixed": c["version"] + "+zz1"}]))
    recs.append(rec(len(recs), eco[t], name, [{"introduced": "0"}, {"fixed": "0.0.1"}]))
while len(recs) < total:
    i = len(recs)
    e = ["npm", "PyPI", "Debian:12", "NuGet"][i % 4]
    recs.append(rec(i, e, f"bench-package-{i}", [{"introduced": "1.0.0"}, {"fixed": "1.2.3"}]))
json.dump(recs, open(out, "w"))
PY
/usr/bin/time -f "db import: %e s, %M KB" "$berth" db import --db "$work/db" "$work/osv.json"
"$berth" db status --db "$work/db" | head -2
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/scan.json" \
  -n "berth scan" "$berth scan $work/berth.cdx.json --db $work/db --format json -o $work/findings.json" >/dev/null
echo "findings: $(node -e "console.log(require('$work/findings.json').matches.length)")"
for f in cdxgen sbom sbom-spdx scan; do
  node -e "for (const r of require('$work/$f.json').results) console.log(r.command.padEnd(12), (r.mean).toFixed(3)+' s ± '+(r.stddev||0).toFixed(3))"
done

#!/usr/bin/env bash
# Installs what Berth needs from Debian: `run` for building and the demo, `test` for tests and benchmarks.
set -euo pipefail
want=(gcc libc6-dev libseccomp-dev libzstd-dev libsodium-dev busybox-static jq)
# berth-serve links Debian's SQLite statically (its embedded default database).
want+=(libsqlite3-dev)
# The engine (`berth run IMAGE`): conmon as each container's monitor, CNI plugins and iptables for
# networks, catatonit for --init.
want+=(conmon containernetworking-plugins iptables catatonit)
# gpg: the signature policy's signedBy requirements (GPG simple signing) are verified with it.
want+=(gpg)
if [ "${1:-run}" = test ]; then
  # nodejs and golang-go: the supply-chain tests (npm tools; a Go binary built to read its build info);
  # rpm (rpm's vercmp, an rpmdb.sqlite made with rpmbuild and rpm -i --justdb) and maven (its ComparableVersion) as the references.
  # docker.io (dockerd 20.10 + its CLI), containerd (1.6, ctr) and uidmap (newuidmap for rootless podman): the real-client tests.
  # docker-registry (distribution 2.8), apache2-utils (htpasswd) and openssl: the registry tests start their own registries.
  # gpg-agent and gpgconf: skopeo --sign-by signs with a test key (and the test stops that agent), the signedBy peer tests.
  # buildah (1.28): the peer `berth build` is compared with (tests, bench/build.sh); debootstrap: the Debian base of the build tests; git: the checkouts the source annotations are read from.
  want+=(buildah debootstrap git runc crun podman umoci skopeo zstd tar attr libcap2-bin hyperfine time iproute2 util-linux bsdutils procps bc
    docker.io containerd uidmap
    docker-registry apache2-utils openssl gpg-agent gpgconf
    nodejs golang-go
    rpm maven
    postgresql)
  # postgresql: the berth serve tests start their own server (initdb in a temp dir, unix socket), never the system one.
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "dotnet (the .NET SDK) is required on PATH" >&2; exit 1; }
if [ "${1:-run}" = test ]; then
  # The supply-chain tests (nodejs above brings npm): ajv validates SBOMs against the CycloneDX schemas
  # @cyclonedx/cyclonedx-library ships; cdxgen (with its trivy plugin) is the peer the catalogers are compared with;
  # @sigstore/verify verifies the bundles Berth writes, tweetnacl opens the cosign key files it writes.
  node_dir="$(dirname "$0")/../tests/Berth.Supply.Tests/node"
  [ -d "$node_dir/node_modules/ajv" ] && [ -d "$node_dir/node_modules/@cyclonedx/cyclonedx-library" ] && [ -d "$node_dir/node_modules/@cyclonedx/cdxgen" ] &&
    [ -d "$node_dir/node_modules/@sigstore/verify" ] && [ -d "$node_dir/node_modules/tweetnacl" ] ||
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error >/dev/null
fi

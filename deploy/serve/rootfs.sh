#!/bin/bash
# rootfs.sh BERTH_SERVE OUT.tar: a minimal root for berth-serve — the binary, the shared libraries
# it and .NET's crypto load (libc, libm, libssl, libcrypto and their dependencies, from the host),
# the CA bundle, /etc/passwd and /etc/group with the unprivileged user 65532 ("serve"), /data and /tmp.
set -euo pipefail
bin=${1:?usage: rootfs.sh BERTH_SERVE OUT.tar}
out=${2:?usage: rootfs.sh BERTH_SERVE OUT.tar}
root=$(mktemp -d /tmp/berth-serve-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/local/bin,etc/ssl/certs,etc/berth-serve,data,tmp,lib64}
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/data"
install -m 0755 "$bin" "$root/usr/local/bin/berth-serve"
libs() { ldd "$1" 2>/dev/null | awk '/=>/ {print $3; next} $1 ~ /^\// {print $1}' | grep '^/' || true; }
ssl=$(ldconfig -p | awk '/libssl\.so\.3 / {print $NF; exit}')
crypto=$(ldconfig -p | awk '/libcrypto\.so\.3 / {print $NF; exit}')
for f in $( { libs "$bin"; echo "$ssl"; echo "$crypto"; libs "$ssl"; libs "$crypto"; } | sort -u); do
  mkdir -p "$root$(dirname "$f")"
  cp -L "$f" "$root$f"
done
# OpenSSL's engines and providers are not needed; its config is optional.
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/sbin/nologin\nserve:x:65532:65532:berth-serve:/data:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nserve:x:65532:\n' > "$root/etc/group"
tar --numeric-owner -C "$root" -cf "$out" .

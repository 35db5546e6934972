#!/usr/bin/env bash
# Makes a rootfs from Debian's busybox-static: /bin/busybox plus one symlink per applet.
set -euo pipefail
root=$1
mkdir -p "$root"/{bin,proc,sys,dev,etc,tmp,root}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"

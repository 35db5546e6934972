#!/bin/bash
# image.sh BERTH_SERVE [NAME] [BERTH]: the service's image in Berth's store. With `berth build`
# (issue 15) the Containerfile is built; without it the same root is imported (`berth image import`)
# and the Containerfile's USER/ENTRYPOINT are given on `berth run` instead (deploy/serve/run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: image.sh BERTH_SERVE [NAME] [BERTH]}
name=${2:-localhost/berth-serve:latest}
berth=${3:-berth}
"$here/rootfs.sh" "$bin" "$here/rootfs.tar"
trap 'rm -f "$here/rootfs.tar"' EXIT
if "$berth" build --help >/dev/null 2>&1; then
  "$berth" build -f "$here/Containerfile" -t "$name" "$here"
else
  echo "image.sh: no \`berth build\` in this berth: importing the root as $name" >&2
  "$berth" image import "$here/rootfs.tar" "$name"
fi

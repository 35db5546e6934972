#!/bin/bash
# run.sh DATA_DIR POLICY_DIR PORT [NAME] [BERTH]: runs the service hardened — an unprivileged user,
# a read-only root, no capabilities, no new privileges — with only DATA_DIR writable (owned by
# 65532) and the policy directory read-only. Host network, listening on 127.0.0.1:PORT only.
# The token comes from BERTH_SERVE_TOKEN in the caller's environment.
set -euo pipefail
data=${1:?usage: run.sh DATA_DIR POLICY_DIR PORT [NAME] [BERTH]}
policy=${2:?}
port=${3:?}
name=${4:-berth-serve}
berth=${5:-berth}
exec "$berth" run -d --name "$name" --user 65532:65532 --read-only --cap-drop all --security-opt no-new-privileges \
  --network host --tmpfs /tmp -e BERTH_SERVE_TOKEN="${BERTH_SERVE_TOKEN:?set BERTH_SERVE_TOKEN}" \
  -v "$data:/data" -v "$policy:/etc/berth-serve:ro" \
  localhost/berth-serve:latest /usr/local/bin/berth-serve --listen "127.0.0.1:$port" --data /data \
  --policy /etc/berth-serve/policy.yaml --db /data/db

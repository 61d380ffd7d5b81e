#!/usr/bin/env bash
# The main job on the emulated default (README command (a)): installs the npm dependencies when
# they are missing, builds, then creates an emulated TDX TVM in a temporary state directory, lists
# its registers, extends RTMR2 with a SHA-384 digest and reads it back.
#
# Usage: bash scripts/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -t 1 ]; then
  say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  say() { printf '\n== %s\n' "$*"; }
fi

if ! command -v node >/dev/null 2>&1; then
  echo "demo: Node.js 20 or later is required (apt-get install nodejs, or https://nodejs.org)" >&2
  exit 2
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "demo: Node.js 20 or later is required (found $(node --version))" >&2
  exit 2
fi

if [ ! -d node_modules ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

say "building (tsc -p tsconfig.build.json)"
if ! npx --no-install tsc -p tsconfig.build.json; then
  if [ -f dist/src/cli/main.js ]; then
    echo "demo: warning: the build reported type errors; running the JavaScript it emitted" >&2
  else
    echo "demo: the build failed" >&2
    exit 3
  fi
fi

mrstack() { node dist/src/cli/main.js "$@"; }

STATE=$(mktemp -d "${TMPDIR:-/tmp}/mrstack-demo.XXXXXX")
trap 'rm -rf "$STATE"' EXIT
export MRSTACK_TVM_STATE="$STATE/tvm"

say "creating an emulated TDX TVM in $MRSTACK_TVM_STATE"
mrstack emulate init --profile tdx

say "its measurement registers (mrstack mr list)"
mrstack mr list

DIGEST=$(node -e 'process.stdout.write(require("node:crypto").createHash("sha384").update("hello from the mrstack demo").digest("hex"))')
say "extending RTMR2 with SHA-384(\"hello from the mrstack demo\")"
echo "digest: $DIGEST"
mrstack mr extend rtmr2 "$DIGEST"

say "reading RTMR2 back (mrstack mr read rtmr2 --json)"
mrstack mr read rtmr2 --json

EXPECTED=$(node -e '
  const c = require("node:crypto");
  const d = Buffer.from(process.argv[1], "hex");
  process.stdout.write(c.createHash("sha384").update(Buffer.concat([Buffer.alloc(48), d])).digest("hex"));
' "$DIGEST")
GOT=$(mrstack mr read rtmr2 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).value))')
if [ "$GOT" = "$EXPECTED" ]; then
  say "RTMR2 = SHA-384(48 zero bytes ‖ digest), as the TDX module computes it: ok"
else
  echo "demo: RTMR2 is $GOT, expected $EXPECTED" >&2
  exit 1
fi

#!/usr/bin/env bash
# The main job on the emulated default (README command (a)): installs the npm dependencies when
# they are missing, builds, then creates an emulated TDX TVM in a temporary state directory, lists
# its registers, extends RTMR2 with a SHA-384 digest and reads it back; then runs the measurement
# agent on RTMR3 with two tenants, appends their events, gets evidence bound to a fresh nonce and
# verifies it layer by layer (report, binding, RTMR3, vMR, tenant events), and shows that a
# tampered tenant record and a wrong nonce fail.
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

# Build only when a source is newer than the built CLI (a second build while the test suite runs
# the demo would rewrite files other tests are loading).
if [ -f dist/src/cli/main.js ] && [ -z "$(find src package.json -newer dist/src/cli/main.js -print -quit)" ]; then
  say "dist/ is up to date with src/: not rebuilding"
else
  say "building (tsc -p tsconfig.build.json)"
  build_ok=1
  npx --no-install tsc -p tsconfig.build.json || build_ok=0
fi
if [ "${build_ok:-1}" = 0 ]; then
  if [ -f dist/src/cli/main.js ]; then
    echo "demo: warning: the build reported type errors; running the JavaScript it emitted" >&2
  else
    echo "demo: the build failed" >&2
    exit 3
  fi
fi

mrstack() { node dist/src/cli/main.js "$@"; }

STATE=$(mktemp -d "${TMPDIR:-/tmp}/mrstack-demo.XXXXXX")
AGENT_PID=""
cleanup() {
  if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
  rm -rf "$STATE"
}
trap cleanup EXIT
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

# ---- the measurement agent: tenants, evidence, layered verification ----
RUN="$STATE/run"
cat > "$STATE/tenants.json" <<'JSON'
{"tenants":[{"name":"alice","vmr":"alice"},{"name":"bob","vmr":"bob"}]}
JSON
say "starting the measurement agent on RTMR3 (mrstack agent start --run-dir $RUN)"
node dist/src/cli/main.js agent start --run-dir "$RUN" --tenants "$STATE/tenants.json" --log-level warn --json >"$STATE/agent.out" 2>"$STATE/agent.err" &
AGENT_PID=$!
# Up to 2,400 polls (2 minutes and more): at load 15 an agent start can take far longer than
# the 10 s that 200 polls gave, and a missed ready fails every command below.
for _ in $(seq 1 2400); do
  grep -q '"ready":true' "$STATE/agent.out" 2>/dev/null && break
  if ! kill -0 "$AGENT_PID" 2>/dev/null; then cat "$STATE/agent.err" >&2; echo "demo: the agent did not start" >&2; exit 3; fi
  sleep 0.05
done
cat "$STATE/agent.out"

say "tenants append events through their own sockets (exit 0 once acknowledged)"
mrstack event append --socket "$RUN/tenants/alice.sock" --domain example.com/app --operation start --content "alice-app v1.2 sha256:5e2b" --id alice-1
mrstack event append --socket "$RUN/tenants/alice.sock" --domain example.com/app --operation config --content "mode=prod" --id alice-2
mrstack event append --socket "$RUN/tenants/bob.sock" --domain bob.example --operation load --content "bob's private model" --id bob-1
echo "(retrying alice-1 with the same id returns the first result:)"
mrstack event append --socket "$RUN/tenants/alice.sock" --domain example.com/app --operation start --content "alice-app v1.2 sha256:5e2b" --id alice-1 --json | grep '"duplicate"'

say "the agent's state (mrstack agent status)"
mrstack agent status --run-dir "$RUN"
echo "physical log (RTMR3):"
cat "$RUN"/log/physical/rtmr3.*.mrlog | cut -c1-110

NONCE=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')
say "alice asks for evidence bound to a fresh verifier nonce"
mrstack evidence get --socket "$RUN/tenants/alice.sock" --nonce "$NONCE" --out "$STATE/alice.json"
if grep -q "private model" "$STATE/alice.json"; then echo "demo: bob's event text leaked into alice's evidence" >&2; exit 1; fi
echo "(alice's bundle holds no text of bob's events: only salted vMR values)"

say "layered verification (mrstack evidence verify --trust-emulated)"
mrstack evidence verify "$STATE/alice.json" --nonce "$NONCE" --trust-emulated

say "tampering is caught: a rewritten tenant record, a wrong nonce"
node -e '
  const fs = require("node:fs");
  const b = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  b.tenant_log.lines = b.tenant_log.lines.map((l) => l.replace("mode=prod", "mode=debug"));
  fs.writeFileSync(process.argv[2], JSON.stringify(b));
' "$STATE/alice.json" "$STATE/tampered.json"
for case in "tampered record:$STATE/tampered.json:$NONCE" "wrong nonce:$STATE/alice.json:$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')"; do
  IFS=: read -r label file nonce <<<"$case"
  set +e
  mrstack evidence verify "$file" --nonce "$nonce" --trust-emulated --json > "$STATE/bad.json"
  rc=$?
  set -e
  code=$(node -e 'const r=JSON.parse(require("node:fs").readFileSync(process.argv[1],"utf8")); process.stdout.write(r.errors.map((e)=>e.code).join(","))' "$STATE/bad.json")
  echo "$label: exit $rc, $code"
  if [ "$rc" != 1 ]; then echo "demo: $label was not detected" >&2; exit 1; fi
done

say "done: agent → tenants → evidence → layered verification on the emulated TDX"

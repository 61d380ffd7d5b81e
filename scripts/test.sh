#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the Debian packages the tests use (as root
# via apt-get; otherwise names them and stops), the npm dependencies, builds, and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# bsdutils: `script`, which gives the progress-bar test a pseudo-terminal.
# chromium: the result page is tested in a real browser (driven by playwright-core, no download).
# postgresql: the verifier store tests start their own server from /usr/lib/postgresql/15/bin.
# python3: scripts/tcg_replay.py, the independent TCG replay a golden test runs (no package above
# pulls it in; CI's image has it, a minimal one may not).
DEB_PACKAGES=(openssl swtpm swtpm-tools tpm2-tools ima-evm-utils fuse libfuse2 libfuse-dev pkg-config xxd coreutils bsdutils postgresql chromium python3)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "test.sh: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: the tests need these Debian packages: ${missing[*]}" >&2
    echo "test.sh: install them as root (apt-get install ${missing[*]}) and run again" >&2
    exit 2
  fi
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
node scripts/run_tests.mjs "$@"

#!/usr/bin/env bash
# Installs what the real-VS-Code end-to-end tests and the per-platform packaging need, outside the
# project's own dependencies:
#   - Debian packages: chromium (driven by playwright-core), ripgrep, libkrb5-dev + pkg-config and a
#     compiler (code-server's native modules build from source here);
#   - code-server 4.100.3 (VS Code 1.100.3, the newest that runs on Node 20) and @vscode/vsce 3.9.x,
#     from npm, into .e2e/ (ignored by git; override with REPO_DIFFUSION_E2E_DIR).
# Idempotent: a second run checks versions and installs nothing. Works offline except for the npm
# registry and Debian's mirrors. Run as root (apt-get), or as a user whose Debian packages are there.
# See docs/e2e.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_DIR="${REPO_DIFFUSION_E2E_DIR:-$ROOT/.e2e}"
CODE_SERVER_VERSION=4.100.3
VSCE_SPEC='@vscode/vsce@~3.9.0'
# code-server 4.100.3 pulls @vscode/ripgrep 1.15.11, whose postinstall first looks for this tarball
# in $TMPDIR/vscode-ripgrep-cache-<version>/ before it tries to download from GitHub.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10

started=$(date +%s)
log() { printf '[e2e-setup] %s\n' "$*"; }
did=()

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
for pkg in libkrb5-dev pkg-config make g++ python3; do
  case "$pkg" in
    make|g++|python3) command -v "$pkg" >/dev/null 2>&1 || need+=("$pkg") ;;
    *) dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg") ;;
  esac
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "[e2e-setup] missing Debian packages: ${need[*]}; run this script as root, or: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  t0=$(date +%s)
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-liberation >/dev/null
  did+=("apt-get install ${need[*]} ($(( $(date +%s) - t0 )) s)")
else
  log "Debian packages already there: chromium ripgrep libkrb5-dev pkg-config make g++ python3"
fi

# ---------------------------------------------------------------------------------------------
# 2. code-server + vsce from npm, into $E2E_DIR
mkdir -p "$E2E_DIR/tmp"
code_server_bin="$E2E_DIR/node_modules/.bin/code-server"
vsce_bin="$E2E_DIR/node_modules/.bin/vsce"

installed_version() { # package dir -> version or empty
  node -e 'try { console.log(require(process.argv[1] + "/package.json").version) } catch { }' "$1" 2>/dev/null || true
}
cs_have=$(installed_version "$E2E_DIR/node_modules/code-server")
vsce_have=$(installed_version "$E2E_DIR/node_modules/@vscode/vsce")

# A finished install leaves this marker; an interrupted one does not (then npm runs again).
marker="$E2E_DIR/.installed"
if [[ "$cs_have" == "$CODE_SERVER_VERSION" && "$vsce_have" == 3.9.* && -x "$code_server_bin" && -x "$vsce_bin" \
      && -f "$marker" && -x "$E2E_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]]; then
  log "code-server $cs_have and vsce $vsce_have already in $E2E_DIR"
else
  t0=$(date +%s)
  if [[ ! -f "$E2E_DIR/package.json" ]]; then
    printf '{\n  "name": "repo-diffusion-e2e-tools",\n  "private": true,\n  "description": "code-server and vsce for the e2e tests and packaging; made by scripts/e2e/setup.sh"\n}\n' >"$E2E_DIR/package.json"
  fi

  # The ripgrep tarball cache: Debian's rg in the archive @vscode/ripgrep would download.
  case "$(uname -m)" in
    x86_64) rg_target=x86_64-unknown-linux-musl ;;
    aarch64|arm64) rg_target=aarch64-unknown-linux-gnu ;;
    *) echo "[e2e-setup] unsupported machine $(uname -m)" >&2; exit 1 ;;
  esac
  rg_cache="$E2E_DIR/tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
  rg_tar="$rg_cache/ripgrep-$RIPGREP_RELEASE-$rg_target.tar.gz"
  if [[ ! -s "$rg_tar" ]]; then
    mkdir -p "$rg_cache/stage"
    cp "$(command -v rg)" "$rg_cache/stage/rg"
    tar -czf "$rg_tar" -C "$rg_cache/stage" rg
    rm -rf "$rg_cache/stage"
    log "placed Debian's rg in $rg_tar"
  fi

  log "npm install code-server@$CODE_SERVER_VERSION $VSCE_SPEC into $E2E_DIR (a few minutes when cold)"
  # unsafe_perm: code-server's postinstall refuses root without it; yes: node-pty's postinstall
  # runs `npx node-gyp`, which would stop at npx's prompt. TMPDIR: where the ripgrep cache is.
  (
    cd "$E2E_DIR"
    export TMPDIR="$E2E_DIR/tmp" npm_config_unsafe_perm=true npm_config_yes=true
    npm install --no-audit --no-fund --loglevel=error --save-exact \
      "code-server@$CODE_SERVER_VERSION" "$VSCE_SPEC"
  )
  touch "$marker"
  cs_have=$(installed_version "$E2E_DIR/node_modules/code-server")
  vsce_have=$(installed_version "$E2E_DIR/node_modules/@vscode/vsce")
  did+=("npm install code-server@$cs_have @vscode/vsce@$vsce_have ($(( $(date +%s) - t0 )) s)")
fi

# ---------------------------------------------------------------------------------------------
# 3. Check that each works.
# code-server writes a default config on every start: point it at a throwaway folder.
probe_home="$E2E_DIR/tmp/version-probe"
cs_reported=$(XDG_CONFIG_HOME="$probe_home" XDG_DATA_HOME="$probe_home" "$code_server_bin" --version 2>/dev/null | grep -E '^[0-9]+\.' | head -1 || true)
rm -rf "$probe_home"
[[ "$cs_reported" == "$CODE_SERVER_VERSION"* ]] || { echo "[e2e-setup] code-server does not run: '$cs_reported'" >&2; exit 1; }
vsce_reported=$("$vsce_bin" --version 2>/dev/null || true)
[[ "$vsce_reported" == 3.9.* ]] || { echo "[e2e-setup] vsce does not run: '$vsce_reported'" >&2; exit 1; }
chromium_reported=$(chromium --version 2>/dev/null || true)
[[ -n "$chromium_reported" ]] || { echo "[e2e-setup] chromium does not run" >&2; exit 1; }

log "code-server: $code_server_bin ($cs_reported)"
log "vsce:        $vsce_bin ($vsce_reported)"
log "chromium:    $(command -v chromium) ($chromium_reported)"
if ((${#did[@]})); then
  for d in "${did[@]}"; do log "did: $d"; done
else
  log "did: nothing (everything was already installed)"
fi
log "done in $(( $(date +%s) - started )) s"

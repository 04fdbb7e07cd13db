#!/usr/bin/env bash
# Build the Linux one-folder bundle from build_installer.spec and check that it runs.
#
#   tools/build_bundle.sh [BUILD_DIR]        (default: build/bundle under the repository root)
#
# Steps: PyInstaller builds BUILD_DIR/dist/sigma-studio; the script checks that the Qt platform plugins
# the app needs on Linux (offscreen, xcb) are inside; runs `sigma --version` from the bundle; runs
# `sigma-studio --smoke` offscreen (it opens the main window, trains a few iterations, exits 0 and
# writes a log file) and checks its exit code and the log. Exit status 0 only when every check passes.
# Uses the `python` on PATH (set PYTHON to choose another); PyInstaller must be installed in it.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="$(realpath -m "${1:-$ROOT/build/bundle}")"
PYTHON="${PYTHON:-python}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-180}"
start=$(date +%s)

fail() { echo "[bundle] FAILED: $*" >&2; exit 1; }
step() { echo "[bundle] $* ($(( $(date +%s) - start )) s)"; }

cd "$ROOT"
step "building into $BUILD_DIR"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$BUILD_DIR/dist" --workpath "$BUILD_DIR/work" build_installer.spec \
  || fail "PyInstaller could not build the bundle"
BUNDLE="$BUILD_DIR/dist/sigma-studio"
[[ -x "$BUNDLE/sigma-studio" ]] || fail "$BUNDLE/sigma-studio was not built"
[[ -x "$BUNDLE/sigma" ]] || fail "$BUNDLE/sigma was not built"
step "built $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"

for plugin in libqoffscreen.so libqxcb.so; do
  found="$(find "$BUNDLE" -path '*platforms*' -name "$plugin" | head -n 1)"
  [[ -n "$found" ]] || fail "Qt platform plugin $plugin is missing from the bundle"
  echo "[bundle] Qt plugin: ${found#"$BUNDLE"/}"
done
[[ -d "$BUNDLE/_internal/resources" ]] || fail "resources/ is missing from the bundle"

step "running the frozen CLI"
"$BUNDLE/sigma" --version || fail "the frozen 'sigma --version' exited with status $?"

step "running sigma-studio --smoke (offscreen)"
LOG="$BUILD_DIR/smoke.log"
rm -f "$LOG"
set +e
QT_QPA_PLATFORM=offscreen timeout "$SMOKE_TIMEOUT" "$BUNDLE/sigma-studio" --smoke --log "$LOG"
status=$?
set -e
if [[ -f "$LOG" ]]; then  # the log is JSON: show its verdict, not every loss
  "$PYTHON" - "$LOG" <<'PY' || sed 's/^/[bundle]   /' "$LOG"
import json, sys
log = json.load(open(sys.argv[1], encoding="utf-8"))
losses = log.get("losses") or []
print(f"[bundle] smoke log {sys.argv[1]}: ok={log.get('ok')} state={log.get('state')} "
      f"iterations={len(losses)} last loss={losses[-1] if losses else None} errors={log.get('errors')} "
      f"seconds={log.get('seconds')}")
PY
fi
[[ $status -eq 0 ]] || fail "sigma-studio --smoke exited with status $status"
[[ -s "$LOG" ]] || fail "sigma-studio --smoke wrote no log at $LOG"
grep -qE '"ok": *true' "$LOG" || fail "the smoke log does not report success (\"ok\": true)"
step "bundle OK"

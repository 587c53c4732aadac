#!/usr/bin/env bash
# Build the one-folder desktop app dist/muralstudio/ with PyInstaller, then check it.
#
#   packaging/build.sh                 build with the current environment (see below)
#   packaging/build.sh --fresh [DIR]   build in a new virtualenv (default build/venv)
#   packaging/build.sh --no-check      skip packaging/check_build.py
#
# Which Python builds: $PYTHON when set; else the active virtualenv ($VIRTUAL_ENV); else the
# repository's .venv (the README's set-up); else python3. It must already import muralstudio
# and its dependencies (pip install -c constraints.txt -e .); PyInstaller is added to it from
# packaging/requirements-build.txt (pinned). --fresh makes a new virtualenv instead and installs
# Mural Studio (not editable, with constraints.txt) and PyInstaller into it: slower, but
# nothing else of the development environment can slip into the app.
#
# Result: dist/muralstudio/muralstudio (and _internal/ beside it); check_build.py runs it
# (--version, the demo mural offscreen with --self-test, a restore) and prints the build time
# and the folder's size. Works in Git Bash on Windows and in Terminal on macOS too.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh="" check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=build/venv; if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then fresh=$2; shift; fi; shift ;;
    --no-check) check=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

venv_python() {  # the interpreter of a virtualenv, on any platform
  if [ -x "$1/bin/python" ]; then echo "$1/bin/python"; else echo "$1/Scripts/python.exe"; fi
}

start=$(date +%s)
if [ -n "$fresh" ]; then
  [ -d "$fresh" ] || python3 -m venv "$fresh"
  py=$(venv_python "$fresh")
  "$py" -m pip install -q -c constraints.txt . -r packaging/requirements-build.txt
elif [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then
  py=$(venv_python "$VIRTUAL_ENV")
elif [ -d .venv ]; then
  py=$(venv_python .venv)
else
  py=python3
fi
echo "build.sh: building with $py"
"$py" -c "import muralstudio, PySide6, torch" 2>/dev/null \
  || { echo "build.sh: $py cannot import muralstudio (run the README's set-up, or use --fresh)" >&2; exit 2; }
"$py" -m pip install -q -r packaging/requirements-build.txt
"$py" packaging/render_icons.py --check  # the committed icons must be there (render_icons.py makes them)

mkdir -p build
log=build/pyinstaller.log
if ! "$py" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/muralstudio.spec > "$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build.sh: PyInstaller failed; the whole log is in $log" >&2
  exit 1
fi
seconds=$(( $(date +%s) - start ))
echo "build.sh: built dist/muralstudio in ${seconds} s (PyInstaller's log: $log)"
if [ "$check" = 1 ]; then
  "$py" packaging/check_build.py --build-seconds "$seconds"
fi

#!/usr/bin/env bash
# Usage: scripts/find-python.sh MIN MAX   (e.g. 3.10 3.10, or 3.11 3.99)
# Prints the path of a Python interpreter whose version is within [MIN, MAX], looking on
# PATH, then in pyenv's versions, then through uv. Exits 1 with advice when none is found.
set -euo pipefail
min=$1 max=$2

fits() {
  "$1" - "$min" "$max" <<'PY' >/dev/null 2>&1
import sys
lo = tuple(int(x) for x in sys.argv[1].split("."))
hi = tuple(int(x) for x in sys.argv[2].split("."))
sys.exit(0 if lo <= sys.version_info[:2] <= hi else 1)
PY
}

candidates=()
for v in 3.13 3.12 3.11 3.10; do candidates+=("python$v"); done
candidates+=(python3)
for c in "${candidates[@]}"; do
  if p=$(command -v "$c" 2>/dev/null) && fits "$p"; then echo "$p"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for p in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -rV); do
    if [ -x "$p/bin/python" ] && fits "$p/bin/python"; then echo "$p/bin/python"; exit 0; fi
  done
fi
if command -v uv >/dev/null 2>&1; then
  if p=$(uv python find "$min" 2>/dev/null) && fits "$p"; then echo "$p"; exit 0; fi
fi
cat >&2 <<MSG
No Python between $min and $max was found (looked on PATH, in pyenv and through uv).
Install one, then run make again:
  pyenv install $min        # with pyenv
  uv python install $min    # with uv
  apt-get install python$min python$min-venv   # on Debian/Ubuntu, where packaged
MSG
exit 1

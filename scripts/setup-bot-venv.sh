#!/usr/bin/env bash
# Makes .venv (Python 3.11 or newer) with the bot and its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(scripts/find-python.sh 3.11 3.99)
echo "==> bot virtualenv .venv with $py ($("$py" --version))"
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
echo "==> installing the bot and its pinned dependencies (requirements/bot.lock)"
.venv/bin/python -m pip install --progress-bar on -c requirements/bot.lock -e '.[dev]'
touch .venv/.installed

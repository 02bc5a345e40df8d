#!/usr/bin/env bash
# Makes .venv-rasa: Rasa 3.6 on Python 3.10, apart from the bot (Rasa pins old aiohttp,
# redis-py and pydantic). The versions are pinned in requirements/rasa.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(scripts/find-python.sh 3.10 3.10)
echo "==> Rasa virtualenv .venv-rasa with $py ($("$py" --version))"
[ -x .venv-rasa/bin/python ] || "$py" -m venv .venv-rasa
.venv-rasa/bin/python -m pip install --quiet --upgrade "pip<27" wheel "setuptools<71"
echo "==> installing Rasa 3.6.21 and its pinned dependencies (about 1 GB, a few minutes)"
.venv-rasa/bin/python -m pip install --progress-bar on -r requirements/rasa.lock
touch .venv-rasa/.installed

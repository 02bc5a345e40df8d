# Two commands matter: `make run` and `make test`. Both set up whatever is missing first.
SHELL := /bin/bash
VENV := .venv
RASA_VENV := .venv-rasa
BIN := $(VENV)/bin

.PHONY: run test setup model locales i18n-extract i18n-update lint format evaluate bench clean users-add

run: setup
	$(BIN)/helpline run

test: setup lint
	$(BIN)/pytest

setup: $(VENV)/.installed $(RASA_VENV)/.installed model locales

$(VENV)/.installed: pyproject.toml requirements/bot.lock scripts/setup-bot-venv.sh
	scripts/setup-bot-venv.sh

$(RASA_VENV)/.installed: requirements/rasa.lock scripts/setup-rasa-venv.sh
	scripts/setup-rasa-venv.sh

# Retrains only when config.yml, nlu/ or nlu_pipeline/ changed (the model is named by their hash).
model: $(VENV)/.installed $(RASA_VENV)/.installed
	$(BIN)/helpline nlu train

# Compiled catalogs are built, never committed. English is the source language: its
# catalog holds only the few strings worded differently, so only Indonesian is counted.
locales: $(VENV)/.installed
	$(BIN)/pybabel compile -d locales -D messages -l en
	$(BIN)/pybabel compile -d locales -D messages -l id --statistics

# A console account: make users-add NAME=sari ROLE=operator (asks for the password).
users-add:
	@test -n "$(NAME)" -a -n "$(ROLE)" || { echo "usage: make users-add NAME=sari ROLE=operator|supervisor|editor|admin"; exit 2; }
	@$(MAKE) -s $(VENV)/.installed
	$(BIN)/helpline users add "$(NAME)" --role "$(ROLE)"

# After changing user-facing strings: extract them, then merge into both catalogs.
i18n-extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location \
		--sort-output --project pmi-helpline -o locales/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --ignore-obsolete

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

evaluate: setup
	$(BIN)/helpline nlu evaluate

bench: setup
	$(BIN)/python -m bench.webchat_load
	$(BIN)/python -m bench.console_load

clean:
	rm -rf $(VENV) $(RASA_VENV) models reports

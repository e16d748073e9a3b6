# Shortcuts for a newcomer: `make run` and `make test` install what they need on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint translations demo

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(STAMP)

## Serve on http://127.0.0.1:8080/; an empty embedded database gets the demo first.
run: $(STAMP)
	$(BIN)/python run.py

## Run the test suite on SQLite (set TEST_DATABASE_URL for PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## Rebuild the demo municipality in the configured database.
demo: $(STAMP)
	$(BIN)/flask --app run demo

## Check style with ruff: lint rules and formatting.
lint: $(STAMP)
	$(BIN)/ruff check app tests bench config.py run.py
	$(BIN)/ruff format --check app tests bench config.py run.py

## Extract messages, merge them into the catalogs and compile them.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/pybabel compile -d translations

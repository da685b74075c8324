# Two entry points: `make demo` (issue sample certificates of every kind) and `make test`.
# Both install what is missing: Debian packages (apt-get) and a virtualenv in .venv.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out/demo
AT ?= 2026-11-20T10:00:00+08:00
SERVE ?= 1
PORT ?= 8000
KEYS_AT ?= 2024-01-01T00:00:00+08:00
KINDS := rescuer skill safety-engineer special-ops safety-manager
DEB_PACKAGES := fonts-wqy-microhei fonts-hanazono poppler-utils qpdf libzbar0 libnss3-tools postgresql chromium wrk
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
LINTED := docgen verify service tests bench

.PHONY: demo test deps lint clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Each sample has its own issuing body, so each gets a development key store (made once).
# The demo registry (out/demo/registry.db) starts afresh each run: every sample is issued
# and registered, each body publishes its signed status list, and each file is verified
# against the registry online and the status list offline.
DEMO_DB := sqlite:///$(abspath $(OUT))/registry.db
demo: deps $(VENV)/.installed
	@mkdir -p $(OUT)
	@rm -rf $(OUT)/registry.db $(OUT)/registry.db-wal $(OUT)/registry.db-shm $(OUT)/annotated
	@for k in $(KINDS); do \
	  $(VENV)/bin/docgen sample --kind $$k > $(OUT)/$$k.json && \
	  { [ -f $(OUT)/keys/$$k/keystore.json ] || \
	    $(VENV)/bin/docgen keys init --dir $(OUT)/keys/$$k --issuer-from $(OUT)/$$k.json \
	      --at $(KEYS_AT) >/dev/null; } && \
	  $(VENV)/bin/docgen issue --kind $$k --data $(OUT)/$$k.json --out $(OUT) --at $(AT) \
	    --keys $(OUT)/keys/$$k --overwrite --db $(DEMO_DB) --operator demo \
	    > $(OUT)/$$k.issued || exit 1; \
	  $(VENV)/bin/docgen status-list export --keys $(OUT)/keys/$$k --db $(DEMO_DB) \
	    --out $(OUT)/keys/$$k/status-list.cose --at $(AT) --valid-hours 744 >/dev/null || exit 1; \
	  sed "s/^/$$k: /" $(OUT)/$$k.issued; \
	  $(VENV)/bin/docgen verify $$(cat $(OUT)/$$k.issued) --trust $(OUT)/keys/$$k/trust.json \
	    --db $(DEMO_DB) --status-list $(OUT)/keys/$$k/status-list.cose \
	    --at $(AT) | grep -E "^[^ ].*: " | sed "s/^/  verified /" || exit 1; \
	done
	@# 加注: the K3 sample's holder registers and annotates it for 30 days; the copy verifies.
	@K3_ID=$$(sed -n 's/.*"id_number": "\([^"]*\)".*/\1/p' $(OUT)/safety-engineer.json); \
	K3_NAME=$$(sed -n 's/.*"name": "\([^"]*\)".*/\1/p' $(OUT)/safety-engineer.json); \
	K3_NO=$$(sed -n 's/.*"number": "\([^"]*\)".*/\1/p' $(OUT)/safety-engineer.json); \
	export DEMO_SECRET=demo-holder-secret; \
	$(VENV)/bin/docgen holder register --id-number $$K3_ID --name $$K3_NAME \
	  --secret-env DEMO_SECRET --db $(DEMO_DB) --at $(AT) >/dev/null && \
	$(VENV)/bin/docgen annotate $$K3_NO --scenario 本人调用 --days 30 --id-number $$K3_ID \
	  --secret-env DEMO_SECRET --keys $(OUT)/keys/safety-engineer --out $(OUT)/annotated \
	  --db $(DEMO_DB) --at $(AT) > $(OUT)/annotated.txt || exit 1; \
	head -1 $(OUT)/annotated.txt; \
	$(VENV)/bin/docgen verify $$(tail -n +2 $(OUT)/annotated.txt) \
	  --trust $(OUT)/keys/safety-engineer/trust.json --db $(DEMO_DB) --at $(AT) \
	  | grep -E "^[^ ].*: |annotation_window" | sed "s/^/  verified /" || exit 1
	@# Batch: a sitting of 60 K1 candidates, 4 of them to be rejected, on all cores.
	@rm -rf $(OUT)/sitting $(OUT)/batch
	@$(VENV)/bin/docgen sample-batch --kind rescuer --rows 60 --bad 4 --out $(OUT)/sitting \
	  --at $(AT) >/dev/null
	$(VENV)/bin/docgen batch $(OUT)/sitting/results.csv --kind rescuer --photos $(OUT)/sitting/photos \
	  --out $(OUT)/batch --keys $(OUT)/keys/rescuer --db $(DEMO_DB) --at $(AT) --operator demo
	@cut -d, -f1,2,6 $(OUT)/batch/batch-*/rejected.csv | sed -e "1s/^\xEF\xBB\xBF//" -e "s/^/  /"
	@$(VENV)/bin/docgen verify $$(ls $(OUT)/batch/*.ofd | tail -1) --trust $(OUT)/keys/rescuer/trust.json \
	  --db $(DEMO_DB) --at $(AT) | grep -E "^[^ ].*: " | sed "s/^/  verified /"
	@$(VENV)/bin/docgen audit verify --db $(DEMO_DB)
	@echo "sample records and sealed certificates are in $(OUT)/; registry $(OUT)/registry.db;"
	@echo "the batch's certificates, manifest, rejection report and unit ZIPs are in $(OUT)/batch/;"
	@echo "the K3 sample's annotated copy (加注) is in $(OUT)/annotated/;"
	@echo "trust lists and signed status lists in $(OUT)/keys/*/"
	@# The service on the demo registry, until Ctrl-C (SERVE=0 skips it, for scripts).
	@if [ "$(SERVE)" != "0" ]; then \
	  K3_ID=$$(sed -n 's/.*"id_number": "\([^"]*\)".*/\1/p' $(OUT)/safety-engineer.json); \
	  echo "sample holder login: ID number $$K3_ID, secret demo-holder-secret"; \
	  echo "an issuer API key (rescuer body): $$($(VENV)/bin/docgen apikey create --db $(DEMO_DB) \
	    --issuer $$(sed -n 's/.*"issuer_code": "\([^"]*\)".*/\1/p' $(OUT)/rescuer.json) --label demo)"; \
	  $(VENV)/bin/docgen serve --host 127.0.0.1 --port $(PORT) --db $(DEMO_DB) \
	    $$(for k in $(KINDS); do printf -- "--trust $(OUT)/keys/%s/trust.json --keys $(OUT)/keys/%s --status-list $(OUT)/keys/%s/status-list.cose " $$k $$k $$k; done) \
	    --copies $(OUT)/annotated --batches $(OUT)/batches; \
	fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

test: deps $(VENV)/.installed lint
	$(VENV)/bin/pytest -q

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache

# AutoNinja persistence: the one entry point for people and CI.  `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON      ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
PORT        ?= 4566
ENDPOINT    := http://127.0.0.1:$(PORT)
LOCAL_DIR   := .local/$(PORT)
REGION      ?= us-east-1

# Packaging: one Lambda runtime for the Makefile and Terraform (-var lambda_runtime=...). The local
# stack runs the packaged handlers on this machine (`autoninja invoke`), so it targets the .venv's
# Python; `make package` builds for LAMBDA_RUNTIME (what environments/aws deploys).
LAMBDA_RUNTIME       ?= python3.12
LOCAL_LAMBDA_RUNTIME := python3.11
RUNTIMES             := $(sort $(LAMBDA_RUNTIME) $(LOCAL_LAMBDA_RUNTIME))
AGENTS               := requirements-analyst solution-architect code-generator quality-validator deployment-manager
BUILD_DIR            := build
PACKAGING            := $(PY) -m autoninja_cli.packaging
# Inputs of each zip (a folder is listed too, so a deleted file also triggers a rebuild).
LAYER_INPUTS    := $(shell find layer/autoninja -not -path '*/__pycache__*' -not -name '*.pyc') \
	requirements/layer.txt requirements/layer-constraints.txt cli/autoninja_cli/packaging.py
function_inputs  = $(shell find functions/$(1) -not -path '*/__pycache__*' -not -name '*.pyc' -not -name openapi.json) \
	cli/autoninja_cli/packaging.py
layer_zip        = $(BUILD_DIR)/$(1)/layer.zip
function_zips    = $(foreach agent,$(AGENTS),$(BUILD_DIR)/$(1)/functions/$(agent).zip)
runtime_sdk      = $(BUILD_DIR)/runtime/$(1)/.installed

# Terraform: the local environment keeps one state and data dir per emulator port, so two stacks can
# run side by side.  Where a local provider mirror exists (no registry access), init uses it.
TF_DIR            := terraform/environments/local
TF_AWS_DIR        := terraform/environments/aws
TF_DATA_DIR_LOCAL := $(abspath $(LOCAL_DIR))/terraform
TF_STATE_LOCAL    := $(abspath $(LOCAL_DIR))/terraform.tfstate
TF_MIRROR_CANDIDATES := /opt/tf-plugins /usr/share/terraform/plugins
TF_PLUGIN_MIRROR  ?= $(firstword $(wildcard $(TF_MIRROR_CANDIDATES)))
TF_INIT_FLAGS     := -input=false -no-color $(if $(TF_PLUGIN_MIRROR),-plugin-dir=$(TF_PLUGIN_MIRROR))
TF_VARS           := -var endpoint=$(ENDPOINT) -var region=$(REGION) \
	-var lambda_runtime=$(LOCAL_LAMBDA_RUNTIME) -var package_dir=$(abspath $(BUILD_DIR)/$(LOCAL_LAMBDA_RUNTIME))

# A TF_CLI_CONFIG_FILE pointing at a missing file only produces warnings: drop it.
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
unexport TF_CLI_CONFIG_FILE
endif

# The environment every tool talking to the local stack gets: the SDKs find the emulator through
# AWS_ENDPOINT_URL; nothing in the code switches on a stage name.
STACK_ENV := AWS_ENDPOINT_URL=$(ENDPOINT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	AWS_DEFAULT_REGION=$(REGION) AWS_REGION=$(REGION) \
	AUTONINJA_TF_DIR=$(TF_DIR) TF_DATA_DIR=$(TF_DATA_DIR_LOCAL)
EMULATOR  := $(PY) -m autoninja_cli.emulator

# $(call with_stack,COMMAND): run COMMAND against the local stack, starting it (`make up`) if nothing
# answers on the port, and stopping it afterwards only if it was started here. Exit status: COMMAND's.
define with_stack
	@if $(EMULATOR) ping --port $(PORT); then reused=1; else reused=0; fi; \
	rc=0; $(MAKE) up && $(1) || rc=$$?; \
	if [ $$reused = 0 ]; then $(MAKE) down || rc=$$?; fi; \
	exit $$rc
endef

##@ Setup
.PHONY: help
help: ## List every target with one line each
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*##/ {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv and install the pinned dev dependencies (idempotent)

$(VENV)/.installed: requirements/dev.txt requirements/layer.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/dev.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	$(PY) -m pip install --quiet --no-deps -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

# checkov lives in its own venv, so its pinned dependencies never constrain the dev set; only lint needs it.
$(VENV)/checkov/.installed: requirements/checkov.txt
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet -r requirements/checkov.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

##@ The main job
REQUEST  ?=
SCENARIO ?= scenarios/friend-agent.json

.PHONY: demo
demo: up ## Run the main job end to end on the local stack and print its trail (REQUEST="..." SCENARIO=scenarios/<file>.json); leaves the stack running
	@$(STACK_ENV) $(VENV)/bin/autoninja demo --scenario $(SCENARIO) $(if $(REQUEST),--request "$(REQUEST)")

##@ Local stack (embedded emulator + Terraform)
.PHONY: up
up: venv package-local ## Build the local zips, start the emulator on 127.0.0.1:$(PORT) (or reuse it) and apply terraform/environments/local
	@$(EMULATOR) start --port $(PORT) --state-dir $(LOCAL_DIR)
	@$(MAKE) tf-apply

.PHONY: down
down: venv ## Destroy the local Terraform state and stop the emulator that `make up` started (by its pid)
	@if $(EMULATOR) ping --port $(PORT) && [ -f $(TF_STATE_LOCAL) ]; then \
		$(MAKE) tf-init package-local; \
		TF_DATA_DIR=$(TF_DATA_DIR_LOCAL) terraform -chdir=$(TF_DIR) destroy -auto-approve -input=false -no-color $(TF_VARS) >$(LOCAL_DIR)/destroy.log \
			|| { cat $(LOCAL_DIR)/destroy.log; exit 1; }; \
		echo "terraform: local stack destroyed"; \
	fi
	@rm -f $(TF_STATE_LOCAL) $(TF_STATE_LOCAL).backup
	@$(EMULATOR) stop --state-dir $(LOCAL_DIR)

.PHONY: tf-init
tf-init: $(TF_DATA_DIR_LOCAL)/.initialized

$(TF_DATA_DIR_LOCAL)/.initialized: $(TF_DIR)/versions.tf $(TF_DIR)/.terraform.lock.hcl
	@mkdir -p $(TF_DATA_DIR_LOCAL)
	@TF_DATA_DIR=$(TF_DATA_DIR_LOCAL) terraform -chdir=$(TF_DIR) init $(TF_INIT_FLAGS) \
		-backend-config=path=$(TF_STATE_LOCAL) >$(TF_DATA_DIR_LOCAL)/init.log \
		|| { cat $(TF_DATA_DIR_LOCAL)/init.log; exit 1; }
	@touch $@

.PHONY: tf-apply
tf-apply: tf-init
	@echo "terraform: applying $(TF_DIR) to $(ENDPOINT)"
	@start=$$(date +%s); \
	TF_DATA_DIR=$(TF_DATA_DIR_LOCAL) terraform -chdir=$(TF_DIR) apply -auto-approve -input=false -no-color $(TF_VARS) 2>&1 \
		| tee $(LOCAL_DIR)/apply.log | awk '/: (Creation|Modifications|Destruction) complete/ \
			{ n++; printf "  %d resources applied\r", n; fflush() } END { if (n) print "" }' \
		|| { cat $(LOCAL_DIR)/apply.log; exit 1; }; \
	grep -E '^(Apply complete|No changes)' $(LOCAL_DIR)/apply.log || true; \
	echo "terraform: done in $$(( $$(date +%s) - start ))s"

.PHONY: tf-plan-aws
tf-plan-aws: package ## Plan terraform/environments/aws (agents on, LAMBDA_RUNTIME zips) against the running emulator; nothing is applied
	@data=$(abspath .local)/plan-aws/$(PORT); mkdir -p $$data; \
	TF_DATA_DIR=$$data/terraform terraform -chdir=$(TF_AWS_DIR) init -backend=false $(TF_INIT_FLAGS) >$$data/init.log \
		|| { cat $$data/init.log; exit 1; }; \
	AWS_ENDPOINT_URL=$(ENDPOINT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
	TF_DATA_DIR=$$data/terraform terraform -chdir=$(TF_AWS_DIR) plan -input=false -no-color -lock=false \
		-state=$$data/plan.tfstate -var region=$(REGION) -var lambda_runtime=$(LAMBDA_RUNTIME) \
		-var package_dir=$(abspath $(BUILD_DIR)/$(LAMBDA_RUNTIME)) >$$data/plan.log \
		|| { cat $$data/plan.log; exit 1; }; \
	echo "terraform: $(TF_AWS_DIR) $$(grep -E '^Plan:' $$data/plan.log)"

.PHONY: outputs
outputs: tf-init ## Print the local stack's Terraform outputs as JSON
	@TF_DATA_DIR=$(TF_DATA_DIR_LOCAL) terraform -chdir=$(TF_DIR) output -json

##@ Packaging
.PHONY: package
package: $(call layer_zip,$(LAMBDA_RUNTIME)) $(call function_zips,$(LAMBDA_RUNTIME)) ## Build the layer zip and one zip per function for LAMBDA_RUNTIME into build/<runtime>/ (rebuilds only what changed)
	@$(PACKAGING) report --zip $(call layer_zip,$(LAMBDA_RUNTIME))

.PHONY: package-local
package-local: $(call layer_zip,$(LOCAL_LAMBDA_RUNTIME)) $(call function_zips,$(LOCAL_LAMBDA_RUNTIME)) runtime-sdk ## Build the zips the local stack deploys (LOCAL_LAMBDA_RUNTIME) and the runtime SDK

.PHONY: runtime-sdk
runtime-sdk: $(call runtime_sdk,$(LOCAL_LAMBDA_RUNTIME)) ## Install the SDK the Lambda runtime bundles (requirements/runtime.txt) into build/runtime/<runtime>/ for local runs

.PHONY: schemas
schemas: venv ## Generate functions/<agent>/openapi.json from each function's code (Powertools); commit the result
	@$(PY) -m autoninja_cli.schemas

.PHONY: invoke
invoke: venv runtime-sdk ## Run AGENT's deployed handler from the built zips on EVENT (a JSON file), e.g. make invoke AGENT=code-generator EVENT=tests/events/code-generator/generate-lambda-code.json
	@test -n "$(AGENT)" -a -n "$(EVENT)" || { echo "usage: make invoke AGENT=<agent> EVENT=<event.json> [PORT=$(PORT)]" >&2; exit 2; }
	@$(STACK_ENV) $(VENV)/bin/autoninja invoke $(AGENT) $(EVENT)

.SECONDEXPANSION:
$(foreach runtime,$(RUNTIMES),$(call layer_zip,$(runtime))): $(BUILD_DIR)/%/layer.zip: $(LAYER_INPUTS) $(VENV)/.installed
	@$(PACKAGING) layer --runtime $* --output $@

$(foreach runtime,$(RUNTIMES),$(call function_zips,$(runtime))): $(BUILD_DIR)/%.zip: $$(call function_inputs,$$(notdir $$*)) $(VENV)/.installed
	@$(PACKAGING) function --agent $(notdir $*) --output $@

$(BUILD_DIR)/runtime/%/.installed: requirements/runtime.txt cli/autoninja_cli/packaging.py $(VENV)/.installed
	@$(PACKAGING) runtime --runtime $* --output $(BUILD_DIR)/runtime/$*
	@touch $@

##@ Quality
.PHONY: lint
lint: venv $(VENV)/checkov/.installed tf-validate ## ruff, mypy, terraform fmt/validate and checkov
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layer cli
	terraform fmt -check -recursive terraform
	$(VENV)/checkov/bin/checkov --quiet --compact --skip-download --framework terraform -d terraform

.PHONY: tf-validate
tf-validate:
	@for env in $(TF_DIR) $(TF_AWS_DIR); do \
		data=$(abspath .local)/validate/$$(basename $$env); mkdir -p $$data; \
		TF_DATA_DIR=$$data terraform -chdir=$$env init -backend=false $(TF_INIT_FLAGS) >$$data/init.log || { cat $$data/init.log; exit 1; }; \
		TF_DATA_DIR=$$data terraform -chdir=$$env validate -no-color; \
	done

.PHONY: fmt
fmt: venv ## Format Python (ruff) and Terraform in place
	$(VENV)/bin/ruff check --fix-only . || true
	$(VENV)/bin/ruff format .
	terraform fmt -recursive terraform

##@ Tests
.PHONY: test
test: lint test-unit ## lint, unit tier, then `make up`, the integration and packaging tiers, a plan of the aws environment and the (reduced) reliability tier; stops what it started
	$(call with_stack,$(MAKE) test-integration && $(MAKE) test-packaging && $(MAKE) tf-plan-aws && $(MAKE) test-reliability-run RELIABILITY_SCALE=reduced)

.PHONY: test-unit
test-unit: venv ## Unit tier: no network (fakes and moto in-process)
	env -u AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=$(REGION) \
		AWS_REGION=$(REGION) $(VENV)/bin/pytest tests/unit -q

.PHONY: test-integration
test-integration: venv ## Integration tier against the running local stack (run `make up` first)
	$(STACK_ENV) $(VENV)/bin/pytest tests/integration -q

.PHONY: test-packaging
test-packaging: venv runtime-sdk ## Packaging tier: every operation run from the deployed zips on the running local stack (run `make up` first)
	$(STACK_ENV) $(VENV)/bin/pytest tests/packaging -q

RELIABILITY_SCALE ?= full

.PHONY: test-reliability
test-reliability: venv runtime-sdk ## Reliability tier at full size (faults, concurrency, outage, fuzzing, key injection, least privilege); starts the stack if needed
	$(call with_stack,$(MAKE) test-reliability-run RELIABILITY_SCALE=$(RELIABILITY_SCALE))

.PHONY: test-reliability-run
test-reliability-run: venv runtime-sdk
	$(STACK_ENV) AUTONINJA_RELIABILITY_SCALE=$(RELIABILITY_SCALE) $(VENV)/bin/pytest tests/reliability -q

##@ Benchmarks
.PHONY: bench
bench: venv runtime-sdk ## P1/P2/P5 against bare boto3, P3 packaged cold import, P4 layer size (starts the stack if needed; not part of `make test`)
	$(call with_stack,$(STACK_ENV) $(PY) -m bench.bench_records && $(STACK_ENV) $(PY) -m bench.bench_packaging)

##@ Housekeeping
.PHONY: clean
clean: ## Remove build outputs and caches (keeps .venv and a running stack's state)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache .hypothesis

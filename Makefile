# Run `make help` for the list. Targets that need the whole stack arrive with it (see ../shared/CONTRACT.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PNPM ?= pnpm
RESULTS := test-results

.PHONY: help install build lint typecheck test bench-service-a

help: ## Show this list
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: ## Install the workspace's dependencies (pnpm)
	$(PNPM) install --frozen-lockfile

build: install ## Compile the TypeScript services
	$(PNPM) run build

lint: ## Format and lint check (Biome) for the whole workspace
	$(PNPM) run lint

typecheck: ## Strict TypeScript check of every package
	$(PNPM) run typecheck

test: install lint typecheck ## Lint, type-check, then every test (unit, integration against real PostgreSQL)
	@mkdir -p $(RESULTS)
	$(PNPM) exec vitest run --reporter=default --reporter=json --outputFile.json=$(RESULTS)/vitest.json

bench-service-a: build ## Benchmark one Service A against a local PostgreSQL, with pgbench as the baseline
	$(PNPM) --filter @sum/service-a bench

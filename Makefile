# Run `make help` for the list; docs/CONTRACT.md says what each target promises.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# The pnpm package.json pins, from the PATH, corepack or a one-time npm install (bin/pnpm says how).
PNPM ?= bin/pnpm
RESULTS := test-results

# Docker Compose where a Docker engine answers, the native stack of local processes otherwise.
STACK ?= $(shell docker info >/dev/null 2>&1 && echo compose || echo native)
# TypeScript run from source, workspace libraries too (their "source" export): no build needed first.
TSX := $(PNPM) exec tsx --conditions=source
NATIVE := $(TSX) native/src/cli.ts
# .env.example holds the defaults, empty passwords among them; .env (make start writes the passwords) overrides them.
COMPOSE := docker compose -p sum-pipeline -f docker-compose/docker-compose.yml --env-file .env.example \
	$(if $(wildcard .env),--env-file .env)
COMPOSE_CLI := $(TSX) docker-compose/cli.ts

.PHONY: help install passwords install-schemathesis build lint typecheck test test-workflow test-chaos bench capacity load bench-cost-attack bench-service-a bench-service-b start stop restart-service-a status logs logs-service-a \
	logs-service-b logs-kafka-connect setup-debezium check-debezium reconcile clean

help: ## Show this list
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: node_modules/.modules.yaml ## Install the workspace's dependencies (pnpm), when the lockfile or a package.json changed

# pnpm writes node_modules/.modules.yaml; it is touched so that a run with nothing to install prints nothing.
node_modules/.modules.yaml: package.json pnpm-lock.yaml pnpm-workspace.yaml $(wildcard */package.json)
	$(PNPM) install --frozen-lockfile
	@touch $@

install-schemathesis: ## Install the pinned Schemathesis in a venv under ~/.cache/sum-pipeline (make test's OpenAPI checks need it)
	bash native/schemathesis/install.sh

build: install ## Compile the TypeScript services
	$(PNPM) run build

lint: ## Format and lint check (Biome) for the whole workspace
	$(PNPM) run lint

typecheck: ## Strict TypeScript check of every package
	$(PNPM) run typecheck

# build: Vitest's global setups load the workspace libraries from dist (the test files, from source).
test: install lint typecheck build install-schemathesis ## Lint, type-check, then every test: unit, integration (real PostgreSQL, Kafka), end-to-end on a stack of its own, short chaos
	$(NATIVE) prerequisites
	@mkdir -p $(RESULTS)
	$(PNPM) exec vitest run --reporter=default --reporter=json --outputFile.json=$(RESULTS)/vitest.json

test-workflow: install ## Prove the running stack: sums through nginx, each applied once by Service B; PASS or FAIL
	$(TSX) proof/src/workflow-cli.ts

test-chaos: build ## kill -9 each component under load (native stack, to itself); exact total or FAIL, then make reconcile
	$(TSX) proof/src/chaos-cli.ts
	$(NATIVE) reconcile

bench: install ## The whole pipeline under load (native stack; wrk, grpc-sum): sums/s, latency, lag, end-to-end, CPU per component, a soak, exact total
	$(NATIVE) start
	$(TSX) proof/src/bench-cli.ts

capacity: install ## The capacity model of docs/scaling.md, recomputed from results/bench.json (make bench writes it)
	$(TSX) deploy/capacity-cli.ts results/bench.json --write docs/scaling.md

load: install ## Load through nginx from Node (LOAD_TRANSPORT=http|grpc LOAD_CONCURRENCY=64 LOAD_SECONDS=30 [LOAD_RATE=1000]); checks the total
	$(TSX) proof/src/load-cli.ts

bench-cost-attack: install ## Normal load's p99 through nginx, alone and beside 8 callers sending the costliest bodies, then gRPC beside an HTTP/2 flood (h2load) (NGINX_URL, LOAD_SECONDS=15)
	$(TSX) proof/src/cost-attack.ts

bench-service-a: build ## Benchmark one Service A against a local PostgreSQL, with pgbench as the baseline
	$(PNPM) --filter @sum/service-a bench

bench-service-b: build ## Benchmark one Service B draining a pre-filled topic (BENCH_EVENTS=200000)
	$(TSX) proof/src/service-b-bench.ts

# A random password into .env (0600) for each one unset, before Compose reads .env: a recipe's $(wildcard)
# is expanded before its first line runs, so this is a prerequisite of start, not a line of it.
passwords: install
	$(NATIVE) passwords

start: install passwords ## Start the whole stack (STACK=native|compose) and print what runs where
ifeq ($(STACK),native)
	$(NATIVE) start
else
	$(COMPOSE_CLI) render
	$(COMPOSE) up -d --build --wait
	$(COMPOSE) ps
endif

stop: ## Stop everything gracefully, keeping data
ifeq ($(STACK),native)
	$(NATIVE) stop
else
	$(COMPOSE) stop
endif

restart-service-a: install ## Restart the Service A instances one at a time (each drains, then is ready before the next): no request fails
ifeq ($(STACK),native)
	$(NATIVE) restart-service-a
else
	@set -e; for instance in $$($(COMPOSE_CLI) service-a-instances); do \
	  echo "==> $$instance: restarting"; \
	  $(COMPOSE) restart --timeout 20 $$instance; \
	  $(COMPOSE) up -d --wait $$instance; \
	  echo "==> $$instance: ready again"; \
	done
endif

status: ## Each component and its state, then the pipeline: requests/s, lag at each hop, end-to-end p99, total, dead letters
ifeq ($(STACK),native)
	$(NATIVE) status
else
	$(COMPOSE) ps --all
	@echo
	@$(COMPOSE_CLI) status
endif

logs: ## Follow every log
ifeq ($(STACK),native)
	$(NATIVE) logs
else
	$(COMPOSE) logs -f --tail=50
endif

logs-service-a: ## Follow the Service A instances' logs
ifeq ($(STACK),native)
	$(NATIVE) logs service-a
else
	$(COMPOSE) logs -f --tail=50 service-a-1 service-a-2 service-a-3
endif

logs-service-b: ## Follow Service B's log
ifeq ($(STACK),native)
	$(NATIVE) logs service-b
else
	$(COMPOSE) logs -f --tail=50 service-b
endif

logs-kafka-connect: ## Follow Kafka Connect's log
ifeq ($(STACK),native)
	$(NATIVE) logs kafka-connect
else
	$(COMPOSE) logs -f --tail=50 kafka-connect
endif

setup-debezium: ## Re-apply debezium/outbox-connector.json (idempotent)
ifeq ($(STACK),native)
	$(NATIVE) setup-debezium
else
	$(COMPOSE_CLI) render
	$(COMPOSE) run --rm --no-deps debezium-setup
endif

# Both stacks publish Connect and Service A's database on the same host ports: one check serves both.
check-debezium: ## Connector and task state, replication slot lag, publication
	$(NATIVE) check-debezium

# Both stacks publish the databases and Kafka on the same host ports: one check serves both.
reconcile: build ## Check the whole reconcile window now: per minute, events acknowledged, applied, missing, re-sent; fails while any is missing
	$(NATIVE) reconcile

clean: ## Stop, then delete this project's run data only (.run/, or the Compose project's containers and volumes)
ifeq ($(STACK),native)
	$(NATIVE) clean
else
	$(COMPOSE) down -v --remove-orphans
	rm -rf docker-compose/rendered
endif

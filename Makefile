# cheeseshop — `make` alone lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin/cheeseshop
# Tests use the machine's PostgreSQL (trust auth on 127.0.0.1), one fresh
# database per test cloned from a migrated template.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
# `make run`: a local database named cheeseshop and ./data.
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cheeseshop?sslmode=disable
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./data
export TEST_DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help deps pg build run test test-fast lint bench bench-ab e2e golden db-up db-down stress fuzz

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install Debian packages the tests need and start PostgreSQL if it is down
	@scripts/deps.sh

pg: ## make sure PostgreSQL answers on 127.0.0.1:5432 (installs and starts it as root when none does)
	@scripts/pg.sh

build: ## build bin/cheeseshop
	$(GO) build -o $(BIN) ./cmd/cheeseshop

run: pg build ## needs only Go and PostgreSQL: create the database if missing, migrate, serve on $(LISTEN) with $(DATA_DIR)
	./$(BIN) serve --create-database --database-url '$(DATABASE_URL)' --listen $(LISTEN) --data-dir $(DATA_DIR) --log-format text

db-up: pg ## make sure PostgreSQL answers on 127.0.0.1:5432

db-down: ## drop the test databases left behind by failed tests
	psql '$(TEST_DATABASE_URL)' -Atc "select datname from pg_database where datname like 'cheeseshop_test_%' or datname like 'cheeseshop_tmpl_%'" | \
	  while read -r db; do psql '$(TEST_DATABASE_URL)' -qc "alter database $$db is_template false" -c "drop database if exists $$db with (force)"; done

lint: ## gofmt check and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# CHEESESHOP_REQUIRE=1 turns every "skip: no database / no twine" into a failure:
# the suite must never pass by skipping.
test: deps lint ## install what is needed, then run every test (the README's test command)
	$(GO) mod download
	CHEESESHOP_REQUIRE=1 $(GO) test -race -count=1 -timeout 20m ./...

test-fast: deps ## every test without the race detector (quicker while working)
	CHEESESHOP_REQUIRE=1 $(GO) test -count=1 -timeout 15m ./...

e2e: deps ## only the end-to-end tests (real binary, twine, pip, nginx, apache)
	CHEESESHOP_REQUIRE=1 $(GO) test -count=1 -timeout 15m -run 'E2E|Script' ./cmd/...

golden: ## rewrite the golden pages after a deliberate rendering change
	$(GO) test ./internal/staticgen ./internal/jsonapi -run Golden -update

# BENCH_PROJECTS=700000 make bench for PyPI's size; scripts/bench.sh lists the knobs.
bench: deps build ## go test -bench smoke, then seed an index and load it with wrk (see BENCHMARKS.md)
	GO=$(GO) scripts/bench.sh

# OLD=/path/to/an/older/cheeseshop make bench-ab: upload p50 and the /simple
# GET ratio to FileServer of two builds, side by side in one run.
bench-ab: deps ## compare this tree's build with OLD=binary (upload p50, GET ratio to FileServer)
	GO=$(GO) scripts/bench-ab.sh

stress: deps ## long variants of the crash and concurrency tests
	CHEESESHOP_REQUIRE=1 CHEESESHOP_STRESS=1 $(GO) test -count=1 -timeout 60m -run 'Crash|Concurren' ./...

# Each Fuzz* target in the repository runs for FUZZTIME; their seed corpora
# already run in every `go test`. Not part of `make test` or CI.
# FuzzUploadHandler runs on the real database (tens of inputs a second), so
# minimising an interesting input is capped too. A failing input is written
# to the package's testdata/fuzz/ and then runs in every `go test`.
FUZZTIME ?= 2m
FUZZMINIMIZETIME ?= 10s
fuzz: deps ## run every Fuzz* target for $(FUZZTIME) each (FUZZTIME=2m by default; not in CI)
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -c6- | sort -u); do \
	    echo "== $$dir $$fn ($(FUZZTIME))"; \
	    CHEESESHOP_REQUIRE=1 $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$dir; \
	  done; \
	done

# switchboard — the two commands of the README are `make run` and `make test`.
GO        ?= go
TAGS      ?= nolibopusfile
BIN       ?= bin/switchboard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+' || echo 0.1.0-dev)
LDFLAGS   ?= -X github.com/switchboard-voip/switchboard/cmd/app.Version=$(VERSION)
export CGO_ENABLED=1

.PHONY: run build deps peers test test-short vet fmt bench bench-system fuzz clean

## run: install what is missing, build, and start every role on an embedded NATS (./data)
run: build
	./$(BIN) up

build: deps
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

deps:
	@deploy/install-deps.sh
	@$(GO) mod download

peers:
	@test/install-peers.sh

## test: install the test peers, then vet, format-check and run every test with the race detector
test: peers deps vet
	$(GO) test -tags $(TAGS) -race -count=1 -timeout 15m ./...

test-short: deps
	$(GO) test -tags $(TAGS) -short -count=1 ./...

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...

## bench: the figures published in docs/benchmarks.md
bench: deps
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./...

## bench-system: whole-system load through `switchboard up` with sipp on 127.0.0.1 (test/bench):
## call rates, then concurrent calls with RTP both ways. Takes 5-10 minutes; not part of `make test`.
## BENCH_ARGS passes flags, e.g. BENCH_ARGS='-scenario cps -rates 500,1000'.
BENCH_ARGS ?=
bench-system: build
	@deploy/install-deps.sh sip-tester
	$(GO) run ./test/bench -bin $(BIN) $(BENCH_ARGS)

## fuzz: each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -tags $(TAGS) -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -tags $(TAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin

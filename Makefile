# goodput: build, test, demo, bench, fuzz.
# Everything here needs only Go 1.26 (and, for the tests, Debian's
# chromium for the HTML report, prometheus for the live metrics and
# nginx-light for TLS, HTTP/2 and targets files against a real service,
# which .ci/run installs).

GO      ?= go
BIN     := bin
PKGS    := ./...
FUZZTIME ?= 10s

.PHONY: all build test demo bench bench-peers fuzz image clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/loadgen ./cmd/loadgen
	$(GO) build -trimpath -o $(BIN)/target ./cmd/target

# test: formatting, vet, and every test under the race detector. Packages
# run one at a time (-p 1): the end-to-end tests measure real services on 2
# cores, and two such packages at once would measure each other. Then the
# workload tests again without it: the production raw-syscall I/O path
# (workload/rawio_norace.go) is compiled only without -race. Then the
# built-in lessons, which skip themselves under -race: five plays at once
# under it saturate 2 cores and measure the machine, not the lessons.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -p 1 -timeout 9m $(PKGS)
	$(GO) test -count=1 -timeout 5m ./workload/
	$(GO) test -count=1 -timeout 5m -run '^TestBuiltinLessons$$' ./harness/

# demo: the main job on the embedded reference target.
demo: build
	./scripts/demo.sh

# bench: every benchmark with allocation counts, including the end-to-end
# throughput benchmark of the load engine.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS)

# bench-peers: loadgen next to wrk and vegeta against one local nginx, one
# table with the goals of issue #15 (installs vegeta, wrk, nginx-light, jq
# and GNU time when missing; settings in the script's header).
bench-peers:
	./scripts/bench-peers.sh

# fuzz: each native fuzz target for $(FUZZTIME).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# image: the container image of deploy/kubernetes (needs a Docker engine;
# not part of make test).
IMAGE ?= ghcr.io/goodput-dev/goodput:v0.1.0
image:
	docker build -t $(IMAGE) --build-arg VERSION=$(lastword $(subst :, ,$(IMAGE))) \
		--build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) .

clean:
	rm -rf $(BIN) out

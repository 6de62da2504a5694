# reprise — build, demo and test. See README.md.
export TESTCONTAINERS_RYUK_DISABLED := true
export CGO_ENABLED := 0

GO ?= go
BIN := bin/reprise

.PHONY: build test demo vet fmt bench clean

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/reprise

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

demo: build
	./fixtures/demo.sh

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin out .reprise

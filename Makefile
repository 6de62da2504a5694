# reprise — build, demo and test. See README.md.
export TESTCONTAINERS_RYUK_DISABLED := true
export CGO_ENABLED := 0

GO ?= go
BIN := bin/reprise

.PHONY: build test test-deps demo vet fmt bench clean

# Headers that Ollama's module zip lacks (it drops vendor/): the Ollama
# fixture (fixtures/ollama) builds Ollama from its module with cgo.
OLLAMA_HEADERS := /usr/include/nlohmann/json.hpp /usr/include/stb/stb_image.h

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/reprise

test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...

# test-deps installs Debian's nlohmann-json3-dev and libstb-dev when a
# header is missing, and chromium (the nightly page's browser test,
# fixtures/browsertest) when no Chromium is on $PATH (apt-get update first;
# as root, else through sudo).
test-deps:
	@missing=; for h in $(OLLAMA_HEADERS); do [ -f $$h ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing nlohmann-json3-dev libstb-dev (headers Ollama's build needs)"; \
		$$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nlohmann-json3-dev libstb-dev; \
	fi
	@if [ -z "$$REPRISE_CHROMIUM" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && \
		! command -v google-chrome >/dev/null && ! command -v google-chrome-stable >/dev/null; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing chromium (the browser test of the nightly page)"; \
		$$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

demo: build
	./fixtures/demo.sh

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin out .reprise

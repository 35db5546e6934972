# Berth: `make run` sets up and runs a container; `make test` installs test needs and runs every test.
SHELL := /bin/bash
OUT := out
BERTH := $(OUT)/berth
RUNTIME := $(OUT)/berth-runtime
SERVE := $(OUT)/berth-serve
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
SOURCES := $(shell find src native -name '*.cs' -o -name '*.c' -o -name '*.h' -o -name '*.csproj' -o -name '*.targets' 2>/dev/null) Directory.Build.props

.PHONY: build run test bench deps test-deps clean demo-bundle

build: $(BERTH) $(RUNTIME) $(SERVE)

# berth: runtime + image toolkit; berth-runtime: the OCI runtime alone, what engines are given.
$(BERTH): $(SOURCES)
	dotnet publish src/Berth.Cli -c Release -o $(OUT)/publish -p:SourceRevisionId=$(COMMIT) --nologo -v quiet
	install -m 0755 $(OUT)/publish/berth $(BERTH)

$(RUNTIME): $(SOURCES)
	dotnet publish src/Berth.Cli.Runtime -c Release -o $(OUT)/publish-runtime -p:SourceRevisionId=$(COMMIT) --nologo -v quiet
	install -m 0755 $(OUT)/publish-runtime/berth-runtime $(RUNTIME)

# berth-serve: the scanning and signing service, its own binary so berth's size and start-up do not grow.
$(SERVE): $(SOURCES)
	dotnet publish src/Berth.Serve -c Release -o $(OUT)/publish-serve -p:SourceRevisionId=$(COMMIT) --nologo -v quiet
	install -m 0755 $(OUT)/publish-serve/berth-serve $(SERVE)

deps:
	scripts/install-deps.sh run

test-deps:
	scripts/install-deps.sh test

# A busybox container that prints what it sees: pid 1, its hostname, its namespaces.
run: deps build
	scripts/demo.sh $(BERTH) $(OUT)/demo

test: test-deps build
	tests/run.sh

bench: test-deps build
	bench/run.sh
	bench/podman.sh
	bench/images.sh
	bench/registry.sh
	bench/engine.sh
	bench/supply.sh
	bench/sign.sh
	bench/build.sh
	bench/serve.sh
	if [ -x bench/serve-policy.sh ]; then bench/serve-policy.sh; fi

clean:
	rm -rf $(OUT) src/*/bin src/*/obj tests/*/bin tests/*/obj

# Everything a developer or CI needs, from a fresh clone: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(CURDIR)/.cache/bin
FERRETDB_VERSION := v1.24.2
# FerretDB's own SQLite driver (modernc.org/sqlite v1.32.0) leaks a started statement when a query's
# time limit ends just as its first row comes back; the interrupt it sent then stays on that pooled
# connection, and every later command on it fails `interrupted (9)`. v1.40.1 closes the statement.
FERRETDB_SQLITE_DRIVER := v1.40.1
FERRETDB_BUILD := $(BIN)/.ferretdb-$(FERRETDB_VERSION)-sqlite-$(FERRETDB_SQLITE_DRIVER)
GRPCURL_VERSION := v1.9.4
TOXIPROXY_VERSION := v2.12.0
PROTOS := proto/dnc/v1/dnc.proto
GENERATED := dnc/v1/dnc_pb2.py dnc/v1/dnc_pb2.pyi dnc/v1/dnc_pb2_grpc.py dnc/v1/dnc_pb2_grpc.pyi \
	dnc/v1/dnc.binpb buf/validate/validate_pb2.py buf/validate/validate_pb2.pyi
# buf/validate/validate.proto (protovalidate's rules, which proto/ uses to declare request rules)
# as protovalidate-java's jar on Maven Central ships it: the Buf registry is not reachable here and
# no Python package carries the .proto. Pinned and hash-checked, so a republished jar cannot change
# the rules' meaning silently.
PROTOVALIDATE_VERSION := 1.3.0
PROTOVALIDATE_PROTO_SHA256 := 817951eab518442950f1982be24b2c3154b214b40e42f49b915cbf5181e6ee80
PROTOVALIDATE := .cache/protovalidate
VALIDATE_PROTO := $(PROTOVALIDATE)/buf/validate/validate.proto
# googleapis-common-protos ships google/api/*.proto inside site-packages.
GOOGLEAPIS = $(shell $(PY) -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parents[2])')
PROTOC = $(PY) -m grpc_tools.protoc -Iproto -I$(GOOGLEAPIS) -I$(PROTOVALIDATE) \
	--plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy \
	--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc

.PHONY: run test check lint lock lock-check buf-lint breaking format proto proto-check install tools bench bench-management bench-volume bench-rest-volume bench-fairness mutation clean

run: install tools
	$(PY) -m devtools.run_local

test: install bench-tools chromium proto-check lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Installs are reproducible: uv.lock pins every Python package (runtime and dev) with hashes, and
# `make install` installs exactly that, never the newest a range in pyproject.toml allows.
# uv itself is pinned with hashes in uv-bootstrap.txt and installed into a venv of its own.
UV_HOME := .cache/uv
UV := $(UV_HOME)/bin/uv
# uv must use this machine's Python and never download one; the venv is .venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

$(UV): uv-bootstrap.txt
	test -x $(UV_HOME)/bin/python || $(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install -q --disable-pip-version-check --no-deps \
		--require-hashes -r uv-bootstrap.txt
	touch $@

# Fails, saying what to do, when pyproject.toml changed without the lock.
lock-check: $(UV)
	@$(UV) lock --check --python $(PYTHON) -q 2>/dev/null || { \
		echo "uv.lock does not match pyproject.toml: run 'make lock', then 'make test', and commit uv.lock"; \
		exit 1; }

$(VENV)/.installed: pyproject.toml uv.lock $(UV)
	@$(MAKE) --no-print-directory lock-check
	$(UV) sync --locked --extra dev --python $(PYTHON) -q
	touch $@

install: $(VENV)/.installed

# Resolves the newest versions pyproject.toml allows into uv.lock (and re-pins uv itself).
# Then `make test`, and commit both files.
UV_VERSION ?= 0.13.9
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	{ echo '# uv itself, pinned with hashes: `make install` puts it in $(UV_HOME); `make lock` writes this.'; \
	  echo "uv==$(UV_VERSION)" | $(UV) pip compile - --universal --generate-hashes --no-header \
		--python $(PYTHON) -q; } > uv-bootstrap.txt.tmp && mv uv-bootstrap.txt.tmp uv-bootstrap.txt

# The module proxy's copy lacks build/version/version.txt (generated in FerretDB's own
# release builds), without which the binary panics at start: build from a copy that has it, with
# the SQLite driver above (`go get` picks its dependencies by minimal version selection, so the
# build is the same on any day). The stamp's name carries both versions: a change rebuilds.
$(FERRETDB_BUILD):
	@set -e; src=$$(mktemp -d); \
	dir=$$(cd /tmp && go mod download -json github.com/FerretDB/FerretDB@$(FERRETDB_VERSION) \
		| sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	cp -R "$$dir/." "$$src"; chmod -R u+w "$$src"; \
	echo $(FERRETDB_VERSION) > "$$src/build/version/version.txt"; \
	(cd "$$src" && go get modernc.org/sqlite@$(FERRETDB_SQLITE_DRIVER) \
		&& go build -trimpath -o $(BIN)/ferretdb ./cmd/ferretdb); \
	rm -rf "$$src" $(BIN)/.ferretdb-*; touch $@; \
	echo "built $(BIN)/ferretdb $(FERRETDB_VERSION) (modernc.org/sqlite $(FERRETDB_SQLITE_DRIVER))"

$(BIN)/grpcurl:
	GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)

# Fault injection between the service and the database in tests (its binary is named `server`).
$(BIN)/toxiproxy-server:
	GOBIN=$(BIN)/toxiproxy.tmp go install github.com/Shopify/toxiproxy/v2/cmd/server@$(TOXIPROXY_VERSION)
	mv $(BIN)/toxiproxy.tmp/server $@ && rmdir $(BIN)/toxiproxy.tmp

tools: $(FERRETDB_BUILD) $(BIN)/grpcurl $(BIN)/toxiproxy-server $(VALIDATE_PROTO)

$(VALIDATE_PROTO):
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	out=$$(mvn -q -B -Dstyle.color=never dependency:copy \
		-Dartifact=build.buf:protovalidate:$(PROTOVALIDATE_VERSION):jar -DoutputDirectory="$$tmp" 2>&1) || \
		{ echo "$$out"; echo "could not fetch build.buf:protovalidate:$(PROTOVALIDATE_VERSION) with mvn"; exit 1; }; \
	unzip -q -o "$$tmp/protovalidate-$(PROTOVALIDATE_VERSION).jar" buf/validate/validate.proto -d "$$tmp/out"; \
	echo "$(PROTOVALIDATE_PROTO_SHA256)  $$tmp/out/buf/validate/validate.proto" | sha256sum -c --quiet -; \
	mkdir -p $(dir $@) && mv "$$tmp/out/buf/validate/validate.proto" $@

# The descriptor set keeps the comments, which reflection serves (dnc_service/reflection.py).
proto: install $(VALIDATE_PROTO)
	$(PROTOC) --python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. $(PROTOS)
	$(PROTOC) --python_out=. --mypy_out=. $(VALIDATE_PROTO)
	$(PROTOC) --include_source_info --descriptor_set_out=dnc/v1/dnc.binpb $(PROTOS)

# Regenerates into a scratch folder and fails when the committed code differs.
proto-check: install $(VALIDATE_PROTO)
	@tmp=$$(mktemp -d) && \
	$(PROTOC) --python_out=$$tmp --grpc_python_out=$$tmp --mypy_out=$$tmp --mypy_grpc_out=$$tmp $(PROTOS) && \
	$(PROTOC) --python_out=$$tmp --mypy_out=$$tmp $(VALIDATE_PROTO) && \
	mkdir -p $$tmp/dnc/v1 && \
	$(PROTOC) --include_source_info --descriptor_set_out=$$tmp/dnc/v1/dnc.binpb $(PROTOS) && \
	for f in $(GENERATED); do diff -u $$f $$tmp/$$f || { echo "$$f is stale: run 'make proto'"; rm -rf $$tmp; exit 1; }; done; \
	rm -rf $$tmp; echo "generated code is up to date"

# buf finds google/api through this link (the module .cache/googleapis in buf.yaml): the Buf
# registry is not reachable here, and these are the files `make proto` compiles against.
BUF := $(VENV)/bin/buf
BUF_GOOGLEAPIS := .cache/googleapis
# The refs whose proto the working tree must stay compatible with: main, and the newest release
# tag when there is one (on main itself the first compares main with main, which passes).
BUF_AGAINST ?= main $(shell git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null)

buf-lint: install $(VALIDATE_PROTO)
	@mkdir -p $(dir $(BUF_GOOGLEAPIS)) && ln -sfn $(GOOGLEAPIS) $(BUF_GOOGLEAPIS)
	$(BUF) lint

# buf breaking (rules FILE in buf.yaml: wire, JSON names, generated code) of proto/ against each
# ref in BUF_AGAINST. The ref's proto/ is compiled with today's buf.yaml in a scratch folder, since
# `--against .git#branch=...` would need google/api inside the repository.
breaking: install $(VALIDATE_PROTO)
	@mkdir -p $(dir $(BUF_GOOGLEAPIS)) && ln -sfn $(GOOGLEAPIS) $(BUF_GOOGLEAPIS)
	@set -e; for ref in $(BUF_AGAINST); do \
		git rev-parse -q --verify "$$ref^{commit}" >/dev/null || \
			{ git rev-parse -q --verify "origin/$$ref^{commit}" >/dev/null && ref="origin/$$ref"; } || { \
			echo "buf breaking: no git ref '$$ref' to compare with; set BUF_AGAINST=<ref>"; exit 1; }; \
		tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		git archive "$$ref" proto | tar -x -C "$$tmp"; \
		cp buf.yaml "$$tmp/" && mkdir -p "$$tmp/$(dir $(BUF_GOOGLEAPIS))"; \
		ln -s "$(GOOGLEAPIS)" "$$tmp/$(BUF_GOOGLEAPIS)"; \
		ln -s "$(CURDIR)/$(PROTOVALIDATE)" "$$tmp/$(PROTOVALIDATE)"; \
		$(BUF) breaking proto --against "$$tmp/proto" || { \
			echo "buf breaking: proto/ is incompatible with $$ref (see above)"; exit 1; }; \
		rm -rf "$$tmp"; echo "buf breaking: proto/ is compatible with $$ref"; \
	done

lint: install buf-lint breaking
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The peer gateway: grpc-gateway v2 generated from the same proto (bench/grpcgateway).
GO_PLUGINS := $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
$(BIN)/ghz:
	GOBIN=$(BIN) go install github.com/bojand/ghz/cmd/ghz@v0.121.0

# validate.proto's Go code is generated here too (its go_package is on Buf's registry, not reachable).
GO_VALIDATE := Mbuf/validate/validate.proto=dnc/gen/buf/validate
$(BIN)/dnc-grpc-gateway: install $(GO_PLUGINS) $(PROTOS) $(VALIDATE_PROTO) bench/grpcgateway/main.go bench/grpcgateway/go.mod
	$(PROTOC) --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=bench/grpcgateway --go_opt=module=dnc \
		--go_opt=$(GO_VALIDATE) \
		--plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc --go-grpc_out=bench/grpcgateway --go-grpc_opt=module=dnc \
		--go-grpc_opt=$(GO_VALIDATE) \
		--plugin=protoc-gen-grpc-gateway=$(BIN)/protoc-gen-grpc-gateway \
		--grpc-gateway_out=bench/grpcgateway --grpc-gateway_opt=module=dnc \
		--grpc-gateway_opt=$(GO_VALIDATE) $(PROTOS) $(VALIDATE_PROTO)
	cd bench/grpcgateway && go build -o $@ .

# wrk comes from Debian's packages: Debian stable changes a package only for security fixes, so
# the version is checked rather than pinned to a build a mirror may drop (4.1.0 on bookworm).
WRK_VERSION := 4.1.0
.PHONY: wrk bench-tools
wrk:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	@dpkg-query -W -f='$${Version}' wrk 2>/dev/null | grep -q '^$(WRK_VERSION)' || \
		{ echo "wrk $(WRK_VERSION) expected, found $$(dpkg-query -W -f='$${Version}' wrk 2>&1)"; exit 1; }

# chromium, also from Debian's packages, renders /docs in tests/integration/test_docs_browser.py.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# What every benchmark needs; `make test` builds it too, for the benchmarks' smoke runs.
bench-tools: tools $(BIN)/ghz $(BIN)/dnc-grpc-gateway wrk

bench: install bench-tools
	$(PY) -m bench $(BENCH_ARGS)

# Only the management RPCs (check, batch add, export with RSS): a few minutes.
bench-management: install tools
	$(PY) -m bench.management $(BENCH_ARGS)

bench-volume: install tools
	$(PY) -m bench.volume $(BENCH_ARGS)

# The same at the REST gateway: scrub and import bodies streamed, export against pymongo, its RSS.
bench-rest-volume: install tools
	$(PY) -m bench.rest_volume $(BENCH_ARGS)

bench-fairness: install tools
	$(PY) -m bench.fairness $(BENCH_ARGS)

# Mutation testing of the core with the fast unit tests (docs/mutation.md); not part of `make test`.
# MUTATE="gateway/routing.py dnc_common/env.py" narrows the run to files in [tool.mutmut] only_mutate.
# Each run starts afresh, so the score always reflects the current tests.
MUTATE ?=
MUTATION_MIN ?= 90
mutation: install
	rm -rf mutants
	$(VENV)/bin/mutmut run $(foreach path,$(MUTATE),'$(subst /,.,$(path:.py=)).*')
	@echo
	$(PY) -m devtools.mutation_report --fail-under $(MUTATION_MIN) $(MUTATE)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache mutants

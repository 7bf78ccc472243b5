# Every target creates .venv and installs into it first, so each works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 50051

.PHONY: install compile proto test serve lint

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# Installed as pure Python: the compile target below builds the extensions in place.
	EAGER_ASYNC_PURE_PYTHON=1 $(BIN)/python -m pip install --quiet -e '.[dev,fast,bench]'
	touch $(STAMP)

install: $(STAMP)

# The hot path compiled by mypyc (setup.py), rebuilt in place whenever its source changes:
# an extension older than its .py would run stale code (tests/conftest.py refuses that).
HOT_SOURCES := setup.py eager_async/compilation.py $(shell $(PYTHON) -c "exec(open('eager_async/compilation.py').read()); print(' '.join(m.replace('.', '/') + '.py' for m in HOT_MODULES))")
COMPILED := $(VENV)/.compiled

$(COMPILED): $(STAMP) $(HOT_SOURCES)
	$(BIN)/python setup.py --quiet build_ext --inplace --force
	touch $(COMPILED)

compile: $(COMPILED)

# The betterproto2 compiler runs ruff as a subprocess, so the venv's bin must be on PATH.
proto: $(STAMP)
	rm -rf eager_async/_proto
	mkdir -p eager_async/_proto
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -Iproto \
		--python_betterproto2_out=eager_async/_proto \
		--python_betterproto2_opt=client_generation=async,server_generation=async \
		$$(find proto -name '*.proto' | sort)
	$(BIN)/python -m grpc_tools.protoc -Iproto --include_imports \
		--descriptor_set_out=eager_async/_proto/eager_service.desc \
		$$(find proto -name '*.proto' | sort)

# The suite runs twice, side by side (its tests wait on sockets and subprocesses as much as
# they compute: 2 min 20 s for both on 2 cores, against 4 min 20 s one after the other):
# on the compiled hot path, and on the same source as pure Python (what a machine without
# a C compiler runs). The pure pass's output follows the compiled one's; both must pass.
test: $(COMPILED)
	@pure_log=$$(mktemp); \
	PATH="$(CURDIR)/$(BIN):$$PATH" EAGER_ASYNC_PURE_PYTHON=1 \
		$(BIN)/python -m pytest -q -p no:cacheprovider >"$$pure_log" 2>&1 & pure=$$!; \
	trap 'kill $$pure 2>/dev/null; rm -f "$$pure_log"' EXIT; \
	echo "== the suite on the compiled hot path"; \
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q; compiled=$$?; \
	wait $$pure; pure_status=$$?; \
	echo "== the suite as pure Python (EAGER_ASYNC_PURE_PYTHON=1)"; cat "$$pure_log"; \
	test $$compiled -eq 0 && test $$pure_status -eq 0

serve: $(COMPILED)
	$(BIN)/python -m eager_async serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check eager_async tests benchmarks
	$(BIN)/mypy eager_async

# `make bench BENCH_ARGS="--quick --scenarios tiny"`: options as in `python -m eager_async bench -h`.
BENCH_ARGS ?=
TF_VENV := .venv-tf
TF_STAMP := $(TF_VENV)/.installed
TF_PYTHON ?= $(TF_VENV)/bin/python
TF_WORKER ?= benchmarks/tf_worker.py
TF_PORT ?= 50061

.PHONY: bench bench-tf tf-worker

# A real TensorFlow 2.21 worker for side-by-side benchmarks, in its own venv: never part
# of the default install.
$(TF_STAMP):
	$(PYTHON) -m venv $(TF_VENV)
	$(TF_PYTHON) -m pip install --quiet tensorflow-cpu==2.21.0
	touch $(TF_STAMP)

# In the foreground; Ctrl-C stops it.
tf-worker: $(TF_STAMP)
	$(TF_PYTHON) $(TF_WORKER) --port $(TF_PORT)

bench: $(COMPILED)
	$(BIN)/python -m eager_async bench $(BENCH_ARGS)

# Ours against TensorFlow 2.21's worker, run by run. The TF worker is started here (its
# address read from its log) and stopped however the benchmark ends.
bench-tf: $(COMPILED) $(TF_STAMP)
	benchmarks/with_worker.sh '$(TF_PYTHON) $(TF_WORKER) --port 0' -- sh -c '\
		$(BIN)/python -m eager_async bench --compare $$WORKER_ADDRESS \
		--compare-pid $$WORKER_PID --compare-label tf-2.21 \
		--json bench-results/bench-tf.json --plot bench-results/bench-tf.png $(BENCH_ARGS)'

# The worker's instructions per tiny op, counted rather than timed (perf stat, or valgrind's
# callgrind where perf has no counter): sync and async unary Enqueue at K=1000, at K=1, and
# grpclib's own floor per RPC (benchmarks/grpclib_floor.py). A few minutes under callgrind;
# table on stdout, JSON in bench-results/profile.json. Options as in
# `benchmarks/profile.py -h`; PROFILE_ARGS="--checkout DIR" profiles another checkout's code
# (a git worktree of an older commit, for a before/after figure: as built there, compiled
# only if `make compile` ran in it).
PROFILE_ARGS ?=
.PHONY: profile
profile: $(COMPILED)
	$(BIN)/python benchmarks/profile.py --json bench-results/profile.json $(PROFILE_ARGS)

# A soak: SOAK_CONTEXTS client contexts of mixed traffic (sync and async, tensors, ops, a
# function, variables, expected errors, contexts recycled and left to expire) for
# SOAK_MINUTES minutes against a worker in its own process, sampled every second. Fails if
# a fetched value is wrong, an RPC fails unexpectedly, handles or contexts are left after
# every client released and closed, or RSS moves more than --tolerance after the warm-up
# (benchmarks/soak.py says exactly how). Slow, so not part of `make test`;
# `make soak SOAK_MINUTES=1 SOAK_CONTEXTS=10` is a smoke check, and
# SOAK_ARGS="--trace-malloc 10" shows where the worker's memory grows.
# JSON, with every sample, in bench-results/soak.json.
SOAK_CONTEXTS ?= 50
SOAK_MINUTES ?= 10
SOAK_ARGS ?=
.PHONY: soak
soak: $(COMPILED)
	$(BIN)/python benchmarks/soak.py --contexts $(SOAK_CONTEXTS) --minutes $(SOAK_MINUTES) \
		--json bench-results/soak.json $(SOAK_ARGS)

# Shape bombs and a 3 GB message against a worker with a 1 GiB quota (BOMBS_MEMORY): each
# must be refused, and the worker's peak RSS stay under twice the quota.
BOMBS_MEMORY ?= 1G
.PHONY: bombs
bombs: $(COMPILED)
	$(BIN)/python benchmarks/bombs.py --memory $(BOMBS_MEMORY) --json bench-results/bombs.json

# Fuzzing (tests/fuzz): random bytes, mutations of real TF 2.21 client requests
# (tests/fuzz/corpus), a list of hostile requests and every registered op with random
# attrs, sent to a worker in its own process for FUZZ_MINUTES minutes while a probe client
# measures its latency. Prints a summary and fails on a crash, a hang, an INTERNAL or
# UNKNOWN status, an expectation not met, or a probe call over 100 ms; JSON in
# bench-results/fuzz.json. `make fuzz FUZZ_MINUTES=3 FUZZ_ARGS="--seed 7 --verbose"`;
# options as in `python -m tests.fuzz -h`. libFuzzer's mutator joins in when atheris
# installs (optional: without it the built-in mutators run alone). tests/test_fuzz.py is
# the short fixed-seed run that `make test` includes.
FUZZ_MINUTES ?= 10
FUZZ_ARGS ?=
ATHERIS_STAMP := $(VENV)/.atheris-tried
.PHONY: fuzz
$(ATHERIS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet atheris || echo "fuzz: atheris did not install; fuzzing without libFuzzer's mutator"
	touch $@
fuzz: $(COMPILED) $(ATHERIS_STAMP)
	$(BIN)/python -m tests.fuzz --minutes $(FUZZ_MINUTES) --json bench-results/fuzz.json \
		$$($(BIN)/python -c 'import atheris' 2>/dev/null && echo --atheris) $(FUZZ_ARGS)


# TensorFlow 2.21's op definitions (arguments, attrs, defaults, CPU kernels' types) as
# data for the registry's op contract: eager_async/kernels/op_defs.jsonl.
.PHONY: op-defs
op-defs: $(TF_STAMP)
	$(TF_PYTHON) tests/conformance/export_op_defs.py eager_async/kernels/op_defs.jsonl

# Every registered op on eager_async against TensorFlow 2.21 itself (records of
# tests/test_kernels_*.py plus generated dtype/shape variants). A report: it exits 0
# whatever the differences. See tests/conformance/run.py.
.PHONY: conformance
conformance: $(COMPILED) $(TF_STAMP)
	$(BIN)/python tests/conformance/run.py --json bench-results/conformance.json

# An unmodified TensorFlow 2.21 client (tf.config.experimental_connect_to_host) against a
# worker started here; fails if any value it reads back is wrong.
.PHONY: stock-client
stock-client: $(COMPILED) $(TF_STAMP)
	benchmarks/with_worker.sh '$(BIN)/python -m eager_async serve --port 0' -- sh -c '\
		$(TF_PYTHON) tests/conformance/stock_client.py $$WORKER_ADDRESS'

# Ordinary TensorFlow 2.21 client programs (tests/interop/programs: Keras fit, tf.function,
# tf.data, checkpoints, ...) against a fresh eager_async worker and a fresh TF 2.21 worker
# each, side by side; exits non-zero if one fails on eager_async (or, worse, on TF's
# worker). `make interop INTEROP_ARGS="--programs keras_fit --workers eager_async --verbose"`;
# options as in `tests/interop/run.py -h`. JSON in bench-results/interop.json.
INTEROP_ARGS ?=
.PHONY: interop interop-ops
interop: $(COMPILED) $(TF_STAMP)
	$(BIN)/python tests/interop/run.py --tf-python $(TF_PYTHON) $(INTEROP_ARGS)

# The op names those programs send to TF's worker (top level and inside the functions the
# worker runs), recorded by a logging gRPC proxy (tests/interop/proxy.py); per program and
# overall, JSON in bench-results/interop-ops.json.
interop-ops: $(COMPILED) $(TF_STAMP)
	$(BIN)/python tests/interop/run.py --ops --tf-python $(TF_PYTHON) $(INTEROP_ARGS)

# TensorFlow 2.21 client programs driving a cluster (tests/interop/cluster_programs: two and
# three workers, ParameterServerStrategy training), each task eager_async or TF's own
# worker, in every mix, next to the all-TF cluster; exits non-zero if a mix fails.
# `make interop-cluster INTEROP_CLUSTER_ARGS="--programs two_tasks --placements ea+tf"`;
# `INTEROP_CLUSTER_ARGS=--traffic` records what TF's tasks send each other instead;
# options as in `tests/interop/cluster_run.py -h`. JSON in bench-results/interop-cluster.json.
INTEROP_CLUSTER_ARGS ?=
.PHONY: interop-cluster
interop-cluster: $(COMPILED) $(TF_STAMP)
	$(BIN)/python tests/interop/cluster_run.py --tf-python $(TF_PYTHON) $(INTEROP_CLUSTER_ARGS)

# What a plain `pip install .` weighs, in a fresh venv from a clean copy of the checkout:
# site-packages (total and the 10 largest distributions) and the median wall time of
# `import eager_async` and of loading the server, over 5 runs. Needs the network unless
# pip's cache has every wheel. INSTALL_WEIGHT_ARGS="--pure" skips mypyc;
# JSON in bench-results/install-weight.json.
INSTALL_WEIGHT_ARGS ?=
.PHONY: install-weight
install-weight: $(STAMP)
	$(BIN)/python benchmarks/install_weight.py --json bench-results/install-weight.json $(INSTALL_WEIGHT_ARGS)

# The worker's container image (Dockerfile; docs/operations-lifecycle.md: Container), tagged
# with the package's version and latest. Where docker or its daemon is missing it says so and
# succeeds: a machine without docker still runs every other target.
DOCKER ?= docker
IMAGE ?= eager-async
.PHONY: docker
docker:
	@if ! command -v $(DOCKER) >/dev/null 2>&1; then \
		echo "make docker: $(DOCKER) is not installed; no image built"; \
	elif ! $(DOCKER) info >/dev/null 2>&1; then \
		echo "make docker: the $(DOCKER) daemon is not reachable ($(DOCKER) info failed); no image built"; \
	else \
		version=$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml); \
		$(DOCKER) build -t $(IMAGE):$$version -t $(IMAGE):latest . ; \
	fi

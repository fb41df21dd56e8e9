# Modelship. Every target does its own set-up on a fresh machine (npm ci, cached Kubernetes builds).
#   make demo    the local story: a cluster, the CRD, example ModelDeployments
#   make test    everything CI runs
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN := node_modules/.bin
NODE_ESM := node --experimental-vm-modules
JEST := $(NODE_ESM) node_modules/jest/bin/jest.js
TSX := $(BIN)/tsx
include cluster/versions.env
export ONNXRUNTIME_NODE_INSTALL := skip

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# --- set-up ---------------------------------------------------------------------------------------
node_modules/.installed: package.json package-lock.json server-image/package.json operator/package.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install npm dependencies (npm ci)

.PHONY: binaries
binaries: ## Build the pinned Kubernetes and etcd binaries from source, once (cached in ~/.cache/modelship)
	@bash cluster/build-binaries.sh >/dev/null

# The upstream module whose OpenAPI document the embedded core/v1 schemas come from.
k8s-module-dir = $(shell go mod download -json k8s.io/kubernetes@$(KUBE_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$$/\1/p')
CORE_V1_SCHEMAS := operator/src/api/v1alpha1/generated/core-v1-schemas.ts

# --- build and checks ----------------------------------------------------------------------------
.PHONY: build
build: deps ## Compile TypeScript to dist/
	$(BIN)/tsc -p tsconfig.build.json

.PHONY: typecheck
typecheck: deps ## Type-check everything, tests included
	$(BIN)/tsc -p tsconfig.json --noEmit

.PHONY: lint
lint: deps ## ESLint and Prettier
	$(BIN)/eslint .
	$(BIN)/prettier --check .

.PHONY: format
format: deps ## Rewrite files with Prettier and ESLint fixes
	$(BIN)/prettier --write .
	$(BIN)/eslint --fix .

.PHONY: manifests
manifests: deps ## Regenerate crds/ (and the vendored Kubernetes schemas) from operator/src/api
	@command -v go >/dev/null || { echo "Go is required to read the pinned Kubernetes OpenAPI document" >&2; exit 1; }
	$(TSX) scripts/vendor-k8s-schemas.ts "$(k8s-module-dir)" $(CORE_V1_SCHEMAS)
	$(TSX) scripts/gen-manifests.ts

.PHONY: verify-manifests
verify-manifests: deps ## Fail when generated files differ from their sources
	@command -v go >/dev/null || { echo "Go is required to read the pinned Kubernetes OpenAPI document" >&2; exit 1; }
	$(TSX) scripts/vendor-k8s-schemas.ts --check "$(k8s-module-dir)" $(CORE_V1_SCHEMAS)
	$(TSX) scripts/gen-manifests.ts --check

# --- tests ---------------------------------------------------------------------------------------
.PHONY: test
test: lint typecheck verify-manifests test-unit test-server test-integration test-e2e ## Everything CI runs

.PHONY: test-unit
test-unit: deps ## Unit tests of pure logic
	$(JEST) --selectProjects unit

.PHONY: test-server
test-server: deps ## Serving runtime: real onnxruntime sessions over real HTTP
	$(JEST) --selectProjects server

.PHONY: test-integration
test-integration: deps binaries build ## Against a real kube-apiserver, etcd and kube-controller-manager
	$(JEST) --selectProjects integration --runInBand

.PHONY: test-e2e
test-e2e: deps binaries ## On a real node (root): pods load models, serve traffic, switch versions under load
	$(JEST) --selectProjects e2e --runInBand

.PHONY: test-argocd
test-argocd: deps binaries ## Opt-in, not in `make test` (root): a real Argo CD (built once) syncs examples/gitops onto a node
	$(JEST) --selectProjects argocd --runInBand

# --- serving runtime (server-image/) --------------------------------------------------------------
.PHONY: bench-server
bench-server: deps ## Benchmark the serving runtime against raw onnxruntime and a naive Express server
	$(TSX) bench/server/run.ts

# --- progressive delivery -------------------------------------------------------------------------
.PHONY: bench-rollout
bench-rollout: deps binaries build ## Router overhead against direct calls, and time from a canary's first failure to its rollback (root: a node)
	$(TSX) bench/rollout/run.ts

# --- operator (operator/) ------------------------------------------------------------------------
# A small V8 young generation keeps the operator's RSS low under bursts (see bench-operator).
OPERATOR_NODE_FLAGS := --max-semi-space-size=2
.PHONY: run
run: build ## Run the operator in the foreground against the current KUBECONFIG (no leader election)
	@if [ -f .cluster/operator.pid ] && kill -0 "$$(cat .cluster/operator.pid)" 2>/dev/null; then \
	  echo "make cluster-up already runs the operator in the background (pid $$(cat .cluster/operator.pid))." >&2; \
	  echo "To run it here instead: make cluster-down && MODELSHIP_OPERATOR=off make cluster-up && make run" >&2; exit 1; fi
	node $(OPERATOR_NODE_FLAGS) dist/operator/src/main.js --no-leader-elect $(ARGS)

.PHONY: image-operator
image-operator: deps ## Build the operator image from operator/Dockerfile (cached; prints its size and docker-archive)
	@$(TSX) cluster/src/images/cli.ts operator

.PHONY: chart
chart: deps ## Lint (helm lint --strict) and package the Helm chart into dist/charts/modelship-<version>.tgz
	@$(TSX) scripts/package-chart.ts

.PHONY: install
install: deps ## Install the CRD and the operator's RBAC into the current KUBECONFIG's cluster
	kubectl apply --server-side -f crds/ -f config/rbac/operator.yaml

.PHONY: bench-operator
bench-operator: build binaries ## Benchmark the operator against a local control plane (latency, 500 at once, memory, steady state)
	$(TSX) bench/operator/run.ts

# --- local cluster -------------------------------------------------------------------------------
.PHONY: cluster-up
cluster-up: deps binaries build ## Start the local cluster (a node, the CRD, the operator); prints the KUBECONFIG export line
	@$(TSX) cluster/src/cli.ts up

.PHONY: cluster-down
cluster-down: deps ## Stop the local cluster and its operator; nothing is left running
	@$(TSX) cluster/src/cli.ts down

.PHONY: cluster-status
cluster-status: deps ## Is the local control plane running?
	@$(TSX) cluster/src/cli.ts status

.PHONY: demo
demo: cluster-up build ## Local cluster, CRD, operator and the examples; shows what the operator made
	@$(TSX) scripts/demo.ts

.PHONY: clean
clean: ## Remove build output (not the cached Kubernetes binaries)
	rm -rf dist coverage

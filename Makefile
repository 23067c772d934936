# The two commands a newcomer needs (see README.md):
#   make demo   runs the main job end to end on local emulators (moto + the Snowflake emulator)
#   make test   runs every check and test; CI (.ci/run) calls exactly this
# Both install what they need first (scripts/bootstrap.sh is idempotent and fast when nothing changed).

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: bootstrap demo test lint fmt-check clippy unit infra-lint deps-check bench package

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(CARGO) run --quiet -p e2e-tests --bin demo

test: bootstrap fmt-check clippy deps-check unit infra-lint
	@echo "make test: all checks passed"

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked --no-fail-fast

deps-check:
	@scripts/check-deps.sh

infra-lint:
	@scripts/lint-infra.sh

bench: bootstrap
	$(CARGO) run --release --quiet -p snowkey-bench
	$(CARGO) run --release --quiet -p snowkey-audit-bench

package: bootstrap
	@scripts/package.sh

# The two commands: `make run` and `make test` (both install what is missing first).
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
PY := /usr/bin/python3

DEB_PACKAGES := build-essential cmake pkg-config libboost1.81-dev libssl-dev libsodium-dev \
  libcrypt-dev libsoci-dev libsqlite3-dev libpq-dev libyaml-cpp-dev nlohmann-json3-dev \
  doctest-dev libhiredis-dev redis-server postgresql nginx haproxy wrk kubectl \
  python3 python3-jwt python3-argon2 python3-bcrypt curl sqlite3 procps

.PHONY: install-deps build run test bench clean format

install-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: install-deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@$(PY) tools/run_demo.py --build $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	$(PY) bench/run_bench.py --build $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)

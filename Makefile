# skiff: build, demo, tests. Run as root on Debian 12 (containers need it).
#   make demo    install what is needed, build the static binary, run a busybox container
#   make check   install what is needed, build, run every test (unit + integration)

SWIFT ?= swift
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -static-executable
BIN = .build/release/skiff
PREFIX ?= /usr/local
DEBIAN_PACKAGES = libseccomp-dev libcap-dev busybox-static bats jq runc crun iproute2 util-linux tmux procps python3 gcc libc6-dev uidmap passwd systemd dbus

.PHONY: all build deps demo check unit integration install clean

all: build

# Installs only what is missing (apt-get update once, then install).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c 'import jsonschema' 2>/dev/null || pip install -q jsonschema

build: deps
	$(SWIFT) build $(RELEASE_FLAGS)
	@ls -l $(BIN)

demo: build
	@sh scripts/demo.sh $(BIN)

unit: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

integration: build
	RUNTIME=$(CURDIR)/$(BIN) Tests/integration/run.sh

check: build
	@sh scripts/check.sh $(CURDIR)/$(BIN)

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/skiff
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf .build

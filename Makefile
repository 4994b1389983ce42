# Wand: the two commands of the README are `make demo` and `make test`.
# Both install the Debian 12 packages they need (apt-get; sudo only when not root).

SHELL := /bin/bash
PREFIX ?= /usr/local
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Build-time and run-time system packages (Debian 12). libcurl4 is what Foundation's URLSession
# runs on (webhooks); ca-certificates lets it check https:// receivers.
# libpq-dev is the PostgreSQL client of the shared queue (`queue: {backend: postgres}`);
# postgresql is the server the multi-host tests start in a temporary folder. glslc compiles the
# Vulkan shaders at build time and libvulkan-dev has their C headers; the binary opens libvulkan1
# with dlopen, and mesa-vulkan-drivers' lavapipe (a CPU Vulkan device) runs the Vulkan tests anywhere.
DEBS := pkg-config libsystemd-dev libinotifytools0-dev libopenblas-dev libyaml-dev libsqlite3-dev \
        libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev \
        ffmpeg fonts-dejavu-core fonts-ipafont-gothic libcurl4 ca-certificates \
        libpq-dev postgresql glslc libvulkan-dev libvulkan1 mesa-vulkan-drivers

.PHONY: deps build release test demo install clean

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) build --product wand
	@status=0; $(SWIFT) test --skip-build --parallel --num-workers 2 --disable-swift-testing \
	  --xunit-output .build/tests.xml || status=$$?; \
	  Tools/ci/summary.sh .build/tests.xml; exit $$status

demo: release
	WAND=.build/release/wand ./Tools/demo/run-demo.sh

install: release
	install -D -m 0755 .build/release/wand $(DESTDIR)$(PREFIX)/bin/wand
	install -D -m 0644 systemd/wand.service $(DESTDIR)/etc/systemd/system/wand.service
	install -D -m 0644 systemd/wand.socket $(DESTDIR)/etc/systemd/system/wand.socket
	install -D -m 0644 systemd/wand-sysusers.conf $(DESTDIR)/usr/lib/sysusers.d/wand.conf
	install -D -m 0644 systemd/wand-tmpfiles.conf $(DESTDIR)/usr/lib/tmpfiles.d/wand.conf
	[ -e $(DESTDIR)/etc/wand/wand.yaml ] || install -D -m 0640 Config/wand.yaml $(DESTDIR)/etc/wand/wand.yaml
	@if [ -z "$(DESTDIR)" ]; then systemd-sysusers wand.conf 2>/dev/null || systemd-sysusers; \
	  systemd-tmpfiles --create wand.conf 2>/dev/null || true; systemctl daemon-reload 2>/dev/null || true; fi

clean:
	rm -rf .build

# SPDX-License-Identifier: GPL-2.0
# govgate: one self-contained binary with its BPF objects embedded as skeletons.
# `make V=1` shows the commands.

OUTPUT ?= build
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := x86
PREFIX ?= /usr
VERSION := 0.1.0
DESTDIR ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/skel/%.skel.h,$(BPF_SRCS))

# user/*.c is the library (no command code); user/cli/*.c the commands.
USER_SRCS := $(wildcard user/*.c)
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB := $(OUTPUT)/libgovgate.a
CLI_SRCS := $(wildcard user/cli/*.c)
CLI_OBJS := $(patsubst user/cli/%.c,$(OUTPUT)/user/cli/%.o,$(CLI_SRCS))
# The commands without main(), for the unit tests that run a command.
CLI_LIB := $(OUTPUT)/libgovgate-cli.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(OUTPUT)/helpers/%,$(TEST_HELPER_SRCS))

BENCH_BIN := $(OUTPUT)/bench/ggbench
BENCH_FLOOR := $(OUTPUT)/bench/hookfloor.bpf.o

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))

INCLUDES := -Iinclude -Iuser -I$(OUTPUT)/skel
CFLAGS ?= -g -O2
CFLAGS += -DGG_VERSION='"$(VERSION)"' -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-format-truncation \
	-Werror=implicit-function-declaration -Werror=int-conversion \
	-D_GNU_SOURCE -std=gnu11 $(INCLUDES)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -Ibpf \
	-Wall -Wno-unused-function -Wno-address-of-packed-member

# libbpf, libelf, zlib, jansson and libidn2 (with libunistring) are linked
# statically; glibc dynamically. libsystemd (no static archive in Debian) is
# opened when first needed (user/sd.c): linked, it and the six libraries it
# needs cost every command's start about 2 ms. So is libcrypto (user/crypto.h):
# linked, relocating its tables cost every command's start 1.2 ms.
STATIC_LIBS := -lbpf -lelf -lz -ljansson -lidn2 -lunistring
DYN_LIBS := -lresolv -ldl -pthread
LDLIBS := -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic $(DYN_LIBS)
# The daemon's relocations packed (DT_RELR, glibc 2.36): 430 KB of
# .rela.dyn, read once at startup, stayed in its VmRSS (docs/performance.md).
BIN_LDFLAGS := -Wl,-z,pack-relative-relocs

.PHONY: all clean test check start unit-test host-test vm-test guest-test fuzz setup install bench bench-quick
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUTPUT)/govgate $(TEST_HELPERS) $(OUTPUT)/helpers/gg-daemon-shim.so $(OUTPUT)/helpers/gg-nvme32 \
	$(OUTPUT)/helpers/gg-net-dyn

$(OUTPUT)/bpf $(OUTPUT)/skel $(OUTPUT)/user $(OUTPUT)/user/cli $(OUTPUT)/tests $(OUTPUT)/helpers $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.bpf.h include/govgate_abi.h vmlinux/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(OUTPUT)/skel/%.skel.h: $(OUTPUT)/bpf/%.bpf.o | $(OUTPUT)/skel
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gg_$(subst -,_,$*) > $@

# The platform floor is compiled into the binary.
$(OUTPUT)/user/floor_pack.h: packs/platform-floor.json | $(OUTPUT)/user
	$(call msg,EMBED,$@)
	$(Q)xxd -i -n gg_floor_pack_json $< > $@

$(OUTPUT)/user/%.o: user/%.c user/*.h include/govgate_abi.h $(SKELS) $(OUTPUT)/user/floor_pack.h | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/user -c $< -o $@

$(OUTPUT)/user/cli/%.o: user/cli/%.c user/cli/*.h user/*.h include/govgate_abi.h $(SKELS) | $(OUTPUT)/user/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/cli -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(CLI_LIB): $(filter-out $(OUTPUT)/user/cli/main.o,$(CLI_OBJS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/govgate: $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(BIN_LDFLAGS) $(CLI_OBJS) $(LIB) $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/fixture.h $(CLI_LIB) $(LIB) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/cli -I$(OUTPUT)/user $< $(CLI_LIB) $(LIB) $(LDLIBS) -lcmocka -o $@

# BPF helper tests: tests/unit/progs/*.bpf.c wrap the gates' helpers in
# SEC("syscall") programs that BPF_PROG_TEST_RUN drives; their skeletons are
# linked into tests/unit/test_bpf_helpers.
TEST_PROG_SRCS := $(wildcard tests/unit/progs/*.bpf.c)
TEST_SKELS := $(patsubst tests/unit/progs/%.bpf.c,$(OUTPUT)/tests/progs/%.skel.h,$(TEST_PROG_SRCS))

$(OUTPUT)/tests/progs:
	$(Q)mkdir -p $@

$(OUTPUT)/tests/progs/%.bpf.o: tests/unit/progs/%.bpf.c tests/unit/progs/*.h bpf/*.bpf.c bpf/*.bpf.h \
		include/govgate_abi.h vmlinux/vmlinux.h | $(OUTPUT)/tests/progs
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/unit/progs -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(OUTPUT)/tests/progs/%.skel.h: $(OUTPUT)/tests/progs/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gg_$(subst -,_,$*) > $@

$(OUTPUT)/tests/test_bpf_helpers: $(TEST_SKELS)
$(OUTPUT)/tests/test_bpf_helpers: CFLAGS += -Itests/unit/progs -I$(OUTPUT)/tests/progs

# The helpers share structs with the daemon (gg-tamper writes settings).
$(OUTPUT)/helpers/%: tests/helpers/%.c include/govgate_abi.h | $(OUTPUT)/helpers
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -static $< $(HELPER_LIBS) -o $@
# gg-dns reads and writes DNS names with libresolv.
$(OUTPUT)/helpers/gg-dns: HELPER_LIBS := -lresolv

# gg-net linked dynamically: the loader run with a program's path maps a
# dynamic program itself (glibc's ld.so execve()s a static one instead).
$(OUTPUT)/helpers/gg-net-dyn: tests/helpers/gg-net.c include/govgate_abi.h | $(OUTPUT)/helpers
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# A 32-bit task's ioctl (the compat path), freestanding: no 32-bit libc here.
$(OUTPUT)/helpers/gg-nvme32: tests/helpers/ia32/gg-nvme32.c | $(OUTPUT)/helpers
	$(call msg,CC32,$@)
	$(Q)$(CLANG) -m32 -nostdlib -static -ffreestanding -fno-stack-protector -fno-pic \
		-fno-builtin -O2 -Wall -Wextra -idirafter /usr/include/$(shell $(CC) -dumpmachine) $< -o $@

# Preloaded into the daemon by the VM tier: a daemon taken over.
$(OUTPUT)/helpers/gg-daemon-shim.so: tests/helpers/shim/gg-daemon-shim.c | $(OUTPUT)/helpers
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -shared -fPIC -pthread $< -o $@

# libFuzzer targets (clang, ASan + UBSan) over the parser and the resolver.
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -std=gnu11 $(INCLUDES) -I$(OUTPUT)/user
$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(USER_SRCS) user/*.h include/govgate_abi.h $(SKELS) $(OUTPUT)/user/floor_pack.h | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -DGG_FUZZING $< $(USER_SRCS) \
		-lbpf -lelf -lz -ljansson -lidn2 -lresolv -ldl -o $@

fuzz: $(FUZZ_BINS)

setup:
	$(Q)scripts/setup.sh

unit-test: $(UNIT_BINS)
	$(Q)scripts/run-tests.sh unit

host-test: all
	$(Q)scripts/run-tests.sh host

vm-test: all
	$(Q)scripts/run-tests.sh vm

guest-test: all
	$(Q)scripts/run-tests.sh guest

test: all $(UNIT_BINS) $(FUZZ_BINS) $(BENCH_BIN) $(BENCH_FLOOR)
	$(Q)scripts/run-tests.sh all

# README's two commands: set up + build + run; set up + build + every test.
SCOPE ?= cgroup:govgate-demo
start:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/start.sh $(SCOPE)

check:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory test

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

# ---- install
# `make install [PREFIX=/usr] [DESTDIR=DIR]`: the binary, the shipped packs,
# the default config (only if none is installed yet), the systemd unit, the
# man page and the bash completion. `make uninstall` removes what install
# put in place except the config and the state/log directories.
SYSCONFDIR := /etc
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
DOCDIR ?= $(DATADIR)/doc/govgate
INSTALL ?= install

.PHONY: uninstall
install: $(OUTPUT)/govgate
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -D -m 0755 $(OUTPUT)/govgate $(DESTDIR)$(SBINDIR)/govgate
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(DATADIR)/govgate/packs/bundles
	$(Q)$(INSTALL) -m 0644 packs/*.json $(DESTDIR)$(DATADIR)/govgate/packs/
	$(Q)$(INSTALL) -m 0644 packs/bundles/*.json $(DESTDIR)$(DATADIR)/govgate/packs/bundles/
	$(Q)$(INSTALL) -D -m 0644 packaging/govgate.json $(DESTDIR)$(DOCDIR)/govgate.json.example
	$(Q)$(INSTALL) -m 0644 docs/config.md docs/operators.md $(DESTDIR)$(DOCDIR)/
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/govgate/trusted-keys
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/govgate/govgate.json ] || \
		sed 's#"/usr/share/govgate/packs"#"$(DATADIR)/govgate/packs"#' packaging/govgate.json \
		>$(DESTDIR)$(SYSCONFDIR)/govgate/govgate.json
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(UNITDIR)
	$(Q)sed 's#/usr/sbin/govgate#$(SBINDIR)/govgate#g' packaging/govgate.service \
		>$(DESTDIR)$(UNITDIR)/govgate.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/govgate.service
	$(Q)$(INSTALL) -D -m 0644 packaging/govgate.8 $(DESTDIR)$(MANDIR)/man8/govgate.8
	$(Q)$(INSTALL) -D -m 0644 packaging/govgate.bash-completion $(DESTDIR)$(BASHCOMPDIR)/govgate

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/govgate $(DESTDIR)$(UNITDIR)/govgate.service \
		$(DESTDIR)$(MANDIR)/man8/govgate.8 $(DESTDIR)$(BASHCOMPDIR)/govgate
	$(Q)rm -rf $(DESTDIR)$(DATADIR)/govgate $(DESTDIR)$(DOCDIR)

# ---- benchmarks
# `make bench`: the full run behind docs/performance.md (minutes; root; needs
# an otherwise idle machine). `make bench-quick`: seconds long, for CI; fails
# on breakage, never on a performance number. See bench/run.sh.
$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(BENCH_BIN): bench/ggbench.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -std=gnu11 -static $< -o $@

# Empty programs at the connect path's hooks: their floor (bench/connect-pair.sh).
$(BENCH_FLOOR): bench/hookfloor.bpf.c vmlinux/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Which batch operations each map type takes here (docs/performance.md).
$(OUTPUT)/bench/batchprobe: bench/batchprobe.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -D_GNU_SOURCE -std=gnu11 -static $< -lbpf -lelf -lz -o $@

# The kernel's own time for N LPM inserts, walks, deletes (docs/performance.md).
$(OUTPUT)/bench/lpmfloor: bench/lpmfloor.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -D_GNU_SOURCE -std=gnu11 -static $< -lbpf -lelf -lz -o $@

# Per-record cost of the audit path (no BPF, no root): docs/performance.md.
$(OUTPUT)/bench/recbench: bench/recbench.c $(LIB) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/user $< $(LIB) $(LDLIBS) -o $@

# The file steps of an apply before its reply, two ways (docs/performance.md).
$(OUTPUT)/bench/statefiles: bench/statefiles.c $(LIB) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

bench: all $(BENCH_BIN) $(BENCH_FLOOR)
	$(Q)bench/run.sh

bench-quick: all $(BENCH_BIN) $(BENCH_FLOOR)
	$(Q)bench/run.sh --quick --out $(OUTPUT)/bench-quick

# Measurements 1 and 2 on the BPF LSM path, in the VMs (tests/vm/bench.sh).
.PHONY: bench-vm
bench-vm: all $(BENCH_BIN)
	$(Q)bench/vm.sh

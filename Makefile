# SPDX-License-Identifier: GPL-2.0
#
# dirtybit: kernel module, CLI, tests and the VM rig.
#
#   make            (all) module (against KDIR), CLI, selftests, host tests
#   make module     dirtybit.ko against KDIR, in the tree (W=1)
#   make all-kmods  dirtybit.ko for each Debian kernel of the rig, in build/k/
#   make user       the CLI, build/dirtybit
#   make selftests  the kselftest programs and benchmarks, build/selftests/
#                   (make -C selftests run_tests|install: see docs/TESTING.md)
#   make host-tests the host unit tests, fuzzers and shims, build/host/
#   make check      host unit tests + the in-VM suite on both Debian kernels
#   make check-host the host part of make check alone (no VM)
#   make check-debug the VM suite on a debug kernel (KASAN, lockdep, kmemleak...)
#   make debug-kernel build that kernel once (cached under /var/lib/dirtybit/debug/)
#   make demo       boot a kernel in QEMU and show dirtybit at work
#   make bench      host micro-benchmarks, then fio ratios in the VM (6.12)
#   make soak       the backup differential test, SOAK_CYCLES rounds per kernel
#   make fuzz       longer runs of the hbitmap, image, qcow2 and in-VM netlink/ioctl fuzzers
#   make checkpatch kernel style check of kmod/ and uapi/
#   make install    CLI, libdirtybit, header, .pc, man page, udev rule, DKMS
#                   source (DESTDIR, PREFIX); uninstall, stage, examples,
#                   deb: see dist/install.mk
#   make deps       the Debian kernels, headers and tools the rig needs
#   make clean      remove build/ and the in-tree module build
#
# KDIR selects the kernel tree the module builds against; by default the
# running kernel's headers, else bookworm's 6.1 installed by `make deps`.

VERSION := $(shell cat VERSION)
B := build
STATE := /var/lib/dirtybit
KVER ?= $(shell uname -r)
KERNELS = $(shell cat $(STATE)/kernels 2>/dev/null)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) \
	$(patsubst %,/lib/modules/%/build,$(word 2,$(KERNELS))))

CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
USER_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -Iuapi -Iuser/lib \
	-DDIRTYBIT_VERSION='"$(VERSION)"'
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HARNESS := $(STATE)/linux-6.1/tools/testing/selftests

LIB_SRCS := $(wildcard user/lib/*.c)
CLI_SRCS := $(wildcard user/*.c user/image/*.c user/backup/*.c user/common/*.c)
USER_HDRS := $(wildcard user/*.h user/lib/*.h user/image/*.h user/backup/*.h user/common/*.h) \
	uapi/linux/dirtybit.h
HB_SRCS := kmod/hbitmap.c kmod/hbitmap.h tests/host/hbitmap_shim.h

.PHONY: all all-kmods deps module user selftests host-tests check check-host \
	check-debug debug-kernel \
	demo bench fuzz soak checkpatch clean

all: module user selftests host-tests examples

deps:
	@tools/deps.sh

module: deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 DIRTYBIT_WERROR=y modules

user: $(B)/dirtybit
# selftests/ is a kselftest target of its own (selftests/Makefile).
selftests: deps
	@$(MAKE) -C selftests OUTPUT=$(CURDIR)/$(B)/selftests HARNESS=$(HARNESS)
host-tests: $(B)/host/hbitmap_test $(B)/host/hbitmap_stress $(B)/host/image_fuzz \
	$(B)/host/qcow2_test $(B)/host/qcow2_fuzz $(B)/host/fail_dirsync.so

$(B)/dirtybit: $(CLI_SRCS) $(LIB_SRCS) $(USER_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -Iuser -pthread -o $@ $(CLI_SRCS) $(LIB_SRCS) -lmnl

HOST_CFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -Wno-unused-parameter -Wno-sign-compare \
	-Itests/host -Ikmod -I$(HARNESS) $(SAN) -pthread

$(B)/host/hbitmap_test: tests/host/hbitmap_test.c tests/host/hbitmap_ref.h $(HB_SRCS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/host/hbitmap_test.c kmod/hbitmap.c

$(B)/host/hbitmap_stress: tests/host/hbitmap_stress.c $(HB_SRCS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/host/hbitmap_stress.c kmod/hbitmap.c

IMG_SRCS := user/image/format.c user/image/pages.c user/common/fileio.c user/common/util.c
$(B)/host/image_fuzz: tests/host/image_fuzz.c $(IMG_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/host/image_fuzz.c $(IMG_SRCS)

QCOW2_SRCS := user/backup/qcow2.c user/common/fileio.c user/common/util.c
$(B)/host/qcow2_test: tests/host/qcow2_test.c $(QCOW2_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/host/qcow2_test.c $(QCOW2_SRCS)

$(B)/host/qcow2_fuzz: tests/host/qcow2_fuzz.c $(QCOW2_SRCS) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ tests/host/qcow2_fuzz.c $(QCOW2_SRCS)

$(B)/host/fail_dirsync.so: tests/host/fail_dirsync.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -std=gnu11 $(WARN) -shared -fPIC -o $@ $< -ldl

$(B)/host/hbitmap_fuzz: tests/host/hbitmap_fuzz.c tests/host/hbitmap_ref.h $(HB_SRCS)
	@mkdir -p $(@D)
	clang -O1 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Itests/host -Ikmod \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/host/hbitmap_fuzz.c kmod/hbitmap.c

$(B)/host/hbitmap_bench: tests/host/hbitmap_bench.c $(HB_SRCS)
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -Itests/host -Ikmod -pthread \
		-o $@ tests/host/hbitmap_bench.c kmod/hbitmap.c

# One copy of the module sources per Debian kernel, so both builds coexist.
$(B)/k/%/kmod/dirtybit.ko: Kbuild VERSION $(wildcard kmod/*) uapi/linux/dirtybit.h | deps
	@rm -rf $(B)/k/$* && mkdir -p $(B)/k/$*
	@cp -r Kbuild VERSION kmod uapi $(B)/k/$*/
	$(MAKE) -s -C $(or $(KDIR_$*),/lib/modules/$*/build) M=$(CURDIR)/$(B)/k/$* W=1 DIRTYBIT_WERROR=y modules

ABIS = $(shell awk '{ print $$2 }' $(STATE)/kernels 2>/dev/null)
KMODS = $(foreach abi,$(ABIS),$(B)/k/$(abi)/kmod/dirtybit.ko)
VM_KERNELS = 6.1 6.12

check: deps
	@$(MAKE) -s all-kmods user selftests host-tests $(B)/host/hbitmap_fuzz examples
	@tools/check.sh $(VM_KERNELS)

check-host: deps
	@$(MAKE) -s user host-tests $(B)/host/hbitmap_fuzz examples
	@tools/check.sh

all-kmods: deps
	@$(MAKE) -s $(KMODS)

demo: deps
	@$(MAKE) -s all-kmods user selftests
	@tools/vm/run --kernel 6.12 --demo

BENCH_KERNEL ?= 6.12
# BENCH_ROUNDS and BENCH_RUNTIME (seconds per fio run), BENCH_PARTS ("image"
# on the host, "region", "block", "backup", "pit" in the VM; default all,
# comma-separated) and BENCH_REGION_MB reach the benchmarks if set.
# region, block and backup run under QEMU's icount (one vCPU, guest time =
# instructions: ratios that repeat to 0.5%) on memory-backed devices;
# pit's writer and freezes go through virtio, whose I/O QEMU does in host
# threads, which icount cannot time: it runs in real time, a separate boot
# (noisy, +-15%).  BENCH_ICOUNT=0 runs every VM part in real time.
BENCH_IMAGE_MB ?= 1024
BENCH_ICOUNT ?= 1
comma := ,
empty :=
space := $(empty) $(empty)
BENCH_LIST = $(if $(BENCH_PARTS),$(subst $(comma),$(space),$(BENCH_PARTS)),image region block backup pit)
BENCH_VM_ICOUNT = $(if $(filter 1,$(BENCH_ICOUNT)),$(filter region block backup,$(BENCH_LIST)))
BENCH_VM_REALTIME = $(filter-out image $(BENCH_VM_ICOUNT),$(BENCH_LIST))
bench_parts = $(subst $(space),$(comma),$(strip $(1)))
BENCH_ENV = $(if $(BENCH_ROUNDS),--env BENCH_ROUNDS=$(BENCH_ROUNDS)) \
	$(if $(BENCH_RUNTIME),--env BENCH_RUNTIME=$(BENCH_RUNTIME)) \
	$(if $(BENCH_REGION_MB),--env BENCH_REGION_MB=$(BENCH_REGION_MB))

bench: deps $(B)/host/hbitmap_bench
	@$(MAKE) -s all-kmods user selftests
	$(B)/host/hbitmap_bench
	$(if $(filter image,$(BENCH_LIST)),$(if $(BENCH_ROUNDS),BENCH_ROUNDS=$(BENCH_ROUNDS)) \
		python3 tests/host/image_bench.py $(B)/dirtybit $(B)/host/image-bench $(BENCH_IMAGE_MB))
	$(if $(BENCH_VM_ICOUNT),tools/vm/run --kernel $(BENCH_KERNEL) --bench --timeout 3000 --icount \
		$(BENCH_ENV) --env BENCH_PARTS=$(call bench_parts,$(BENCH_VM_ICOUNT)))
	$(if $(BENCH_VM_REALTIME),tools/vm/run --kernel $(BENCH_KERNEL) --bench --timeout 3000 \
		$(BENCH_ENV) --env BENCH_PARTS=$(call bench_parts,$(BENCH_VM_REALTIME)))

# The backup differential test for longer: SOAK_CYCLES rounds per kernel.
SOAK_CYCLES ?= 500
soak: deps
	@$(MAKE) -s all-kmods user selftests
	@for k in $(VM_KERNELS); do tools/vm/run --kernel $$k --tests backup_test \
		--env BACKUP_CYCLES=$(SOAK_CYCLES) --timeout 7200 || exit 1; done

# FUZZ_MESSAGES netlink messages and FUZZ_IOCTLS ioctls per kernel (make
# check runs 10000 of each); FUZZ_SEED picks another reproducible run.
FUZZ_MESSAGES ?= 100000
FUZZ_IOCTLS ?= 100000
FUZZ_SEED ?= 1
fuzz: deps $(B)/host/hbitmap_fuzz $(B)/host/image_fuzz $(B)/host/qcow2_fuzz
	@$(MAKE) -s all-kmods user selftests
	$(B)/host/hbitmap_fuzz -max_total_time=600 -seed=1 tests/host/fuzz-corpus
	$(B)/host/image_fuzz 100000 1
	$(B)/host/qcow2_fuzz 100000 1
	@for k in $(VM_KERNELS); do tools/vm/run --kernel $$k --tests fuzz_test \
		--env FUZZ_MESSAGES=$(FUZZ_MESSAGES) --env FUZZ_IOCTLS=$(FUZZ_IOCTLS) \
		--env FUZZ_SEED=$(FUZZ_SEED) --timeout 7200 || exit 1; done

# The debug tier: a kernel with KASAN, KFENCE, lockdep, kmemleak, UBSAN and
# fault injection (built once, cached under $(STATE)/debug/), the module
# against it, and the whole VM suite on it.  Not part of make check: see
# docs/TESTING.md for the build and run times.
DEBUG_KERNEL := 6.1-debug
DEBUG_TREE := $(STATE)/debug/$(DEBUG_KERNEL)/linux
DEBUG_TIMEOUT ?= 7200
debug-kernel: deps
	@tools/debug-kernel.sh

check-debug: debug-kernel
	@abi=$$(tools/debug-kernel.sh --abi) && ko=$(B)/k/$$abi/kmod/dirtybit.ko && \
		{ [ $$ko -nt $(STATE)/debug/$(DEBUG_KERNEL)/stamp ] || rm -f $$ko; } && \
		flock -s $(STATE)/debug/$(DEBUG_KERNEL).lock \
		$(MAKE) -s user selftests examples $(B)/host/fail_dirsync.so $$ko KDIR_$$abi=$(DEBUG_TREE)
	@tools/check.sh --vm-only --timeout $(DEBUG_TIMEOUT) $(DEBUG_KERNEL)

checkpatch: deps
	@tools/checkpatch.sh

clean:
	rm -rf $(B)
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null

include dist/install.mk

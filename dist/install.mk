# SPDX-License-Identifier: GPL-2.0
#
# Installing dirtybit (included by the top Makefile):
#
#   make lib        build/lib/libdirtybit.so.VERSION (SONAME libdirtybit.so.0)
#   make install    the CLI linked against it, the library, its header and
#                   pkg-config file, the man page, the udev rule and the
#                   module's source for DKMS; DESTDIR and PREFIX as usual
#   make uninstall  removes what make install put there
#   make stage      make install into build/stage (PREFIX=/usr, Debian's
#                   multiarch LIBDIR): what the example agent builds against
#   make examples   examples/agent against the staged library (pkg-config)
#   make deb        the Debian packages into build/deb/ (from a copy of the tree)
#
# The in-tree CLI (build/dirtybit, the one the tests run) keeps the library
# linked in; the installed one links libdirtybit.so.0 (build/inst/dirtybit).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
# DKMS reads its sources from /usr/src whatever PREFIX is.
DKMSSRCDIR ?= /usr/src/dirtybit-$(VERSION)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

LIB_SONAME := libdirtybit.so.0
LIB_REAL := libdirtybit.so.$(VERSION)
LIB_MAP := user/lib/libdirtybit.map
# Only LIB_MAP's symbols leave the library; the rest of user/lib is local.
$(B)/lib/$(LIB_REAL): $(LIB_SRCS) $(LIB_MAP) $(USER_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=$(LIB_MAP) -Wl,--no-undefined $(LDFLAGS) \
		-o $@ $(LIB_SRCS) -lmnl
	ln -sf $(LIB_REAL) $(B)/lib/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(B)/lib/libdirtybit.so

# The CLI against the shared library: the CLI uses only its public API.
$(B)/inst/dirtybit: $(CLI_SRCS) $(USER_HDRS) $(B)/lib/$(LIB_REAL)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Iuser -pthread $(LDFLAGS) -o $@ $(CLI_SRCS) \
		-L$(B)/lib -ldirtybit

lib: $(B)/lib/$(LIB_REAL)

KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild
# The .pc is written at install time: it names the directories installed to.
install: $(B)/lib/$(LIB_REAL) $(B)/inst/dirtybit
	install -D -m 755 $(B)/inst/dirtybit $(DESTDIR)$(BINDIR)/dirtybit
	install -D -m 644 $(B)/lib/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libdirtybit.so
	install -D -m 644 user/lib/libdirtybit.h $(DESTDIR)$(INCLUDEDIR)/dirtybit/libdirtybit.h
	install -D -m 644 uapi/linux/dirtybit.h $(DESTDIR)$(INCLUDEDIR)/dirtybit/linux/dirtybit.h
	install -d $(DESTDIR)$(PKGCONFIGDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' dist/libdirtybit.pc.in >$(B)/libdirtybit.pc
	install -m 644 $(B)/libdirtybit.pc $(DESTDIR)$(PKGCONFIGDIR)/libdirtybit.pc
	install -D -m 644 docs/dirtybit.8 $(DESTDIR)$(MANDIR)/man8/dirtybit.8
	install -D -m 644 dist/60-dirtybit.rules $(DESTDIR)$(UDEVRULESDIR)/60-dirtybit.rules
	install -d $(DESTDIR)$(DKMSSRCDIR)/kmod $(DESTDIR)$(DKMSSRCDIR)/uapi/linux
	install -m 644 Kbuild VERSION $(DESTDIR)$(DKMSSRCDIR)/
	install -m 644 $(KMOD_SRCS) $(DESTDIR)$(DKMSSRCDIR)/kmod/
	install -m 644 uapi/linux/dirtybit.h $(DESTDIR)$(DKMSSRCDIR)/uapi/linux/
	sed 's|#MODULE_VERSION#|$(VERSION)|' dist/dkms.conf >$(B)/dkms.conf
	install -m 644 $(B)/dkms.conf $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	@# Into the system itself: the loader's cache must know the new library.
	@[ -n "$(DESTDIR)" ] || ldconfig

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dirtybit $(DESTDIR)$(LIBDIR)/$(LIB_REAL) \
		$(DESTDIR)$(LIBDIR)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libdirtybit.so \
		$(DESTDIR)$(PKGCONFIGDIR)/libdirtybit.pc $(DESTDIR)$(MANDIR)/man8/dirtybit.8 \
		$(DESTDIR)$(UDEVRULESDIR)/60-dirtybit.rules
	rm -rf $(DESTDIR)$(INCLUDEDIR)/dirtybit $(DESTDIR)$(DKMSSRCDIR)
	@[ -n "$(DESTDIR)" ] || ldconfig

STAGE := $(B)/stage
STAGE_LIBDIR := /usr/lib/$(MULTIARCH)
stage:
	@rm -rf $(STAGE)
	@$(MAKE) -s install DESTDIR=$(CURDIR)/$(STAGE) PREFIX=/usr LIBDIR=$(STAGE_LIBDIR) >/dev/null

# The example builds as a user's program would: pkg-config, the staged
# files standing in for /usr.
examples: stage
	@PKG_CONFIG_PATH=$(CURDIR)/$(STAGE)$(STAGE_LIBDIR)/pkgconfig \
		PKG_CONFIG_SYSROOT_DIR=$(CURDIR)/$(STAGE) \
		$(MAKE) -s -C examples O=$(CURDIR)/$(B)/examples

deb:
	@tools/deb.sh $(B)/deb

.PHONY: lib install uninstall stage examples deb

# tracecheck build. Plain GNU Make: one file, no generator step, every rule
# visible. `make` builds build/tracecheck; `make check` runs every test;
# `make SAN=1 check` does the same under AddressSanitizer + UBSan in
# build-asan/; `make fuzz` builds the libFuzzer harnesses in build-fuzz/.

ifeq ($(SAN),1)
B ?= build-asan
CC := clang
CXX := clang++
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT ?= -O1 -g
else
B ?= build
CC ?= cc
CXX ?= c++
SANFLAGS :=
OPT ?= -O2 -g
endif

PKGS := libprotobuf-c jansson yajl libfyaml libpcre2-8 zlib libnghttp2 libcurl libmicrohttpd rdkafka protobuf sqlite3 libpq
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(V),1)
Q :=
SAY := @true
else
Q := @
SAY := @echo
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(SANFLAGS) $(CFLAGS) -Isrc -Itests -I$(B)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS_ALL = $(PKG_LIBS) -lprotoc -lstdc++ -lm -pthread
# C++ only where a C++ library is the right tool (libprotobuf's .proto parser
# and JSON mapping for the gRPC trigger), behind a C header.
# (UBSan's C++-only checks need its C++ runtime, which C links do not pull in: off)
ALL_CXXFLAGS = -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter $(SANFLAGS) \
               $(if $(findstring undefined,$(SANFLAGS)),-fno-sanitize=vptr$(comma)function) \
               $(CFLAGS) -Isrc -I$(B)/gen $(PKG_CFLAGS) -MMD -MP
comma := ,

# ---- generated protobuf-c code (from proto/, OTLP trace subset) ----
PROTOS := $(shell find proto -name '*.proto' | sort)
PROTO_C := $(patsubst proto/%.proto,$(B)/gen/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	$(SAY) "  PROTOC  $<"
	$(Q)protoc-c --proto_path=proto --c_out=$(B)/gen $<

# ---- library: everything under src/ but the CLI ----
LIB_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
LIB_CXX_SRC := $(sort $(wildcard src/*/*.cc))
LIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC)) $(patsubst %.cc,$(B)/obj/%.o,$(LIB_CXX_SRC)) \
           $(patsubst $(B)/gen/%.c,$(B)/obj/gen/%.o,$(PROTO_C))
# docs/openapi.json, embedded in the library for GET /api/openapi.json
LIB_OBJ += $(B)/obj/gen/openapi_json.o
# ui/, embedded in the library for the web UI (src/server/ui.c)
LIB_OBJ += $(B)/obj/gen/ui_assets.o
CLI_SRC := $(sort $(wildcard src/cli/*.c))
CLI_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(CLI_SRC))
LIB := $(B)/libtracecheck.a
BIN := $(B)/tracecheck

.PHONY: all setup check test fuzz fuzz-run bench clean demo
.DEFAULT_GOAL := all
.SECONDARY:

all: setup
	@$(MAKE) --no-print-directory $(BIN)

setup: $(B)/.setup-done
$(B)/.setup-done: scripts/setup.sh
	@bash scripts/setup.sh
	@mkdir -p $(B) && touch $@

$(B)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.cc | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CXX     $<"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CC      $<"
	$(Q)$(CC) $(filter-out -Werror -Wmissing-prototypes -Wstrict-prototypes,$(ALL_CFLAGS)) -c $< -o $@

$(B)/gen/openapi_json.c: docs/openapi.json
	@mkdir -p $(B)/gen
	$(SAY) "  GEN     $@"
	$(Q){ echo '/* generated from docs/openapi.json by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char server_openapi_json[];'; \
	  echo 'extern const size_t server_openapi_json_len;'; \
	  echo 'const unsigned char server_openapi_json[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00};'; \
	  echo 'const size_t server_openapi_json_len = sizeof server_openapi_json - 1;'; } > $@.tmp
	$(Q)mv $@.tmp $@

# every file under ui/ (and its directories, so an added or removed file counts)
UI_FILES := $(shell find ui -type f ! -name '.*' 2>/dev/null | LC_ALL=C sort)
UI_DIRS := $(shell find ui -type d 2>/dev/null)
$(B)/gen/ui_assets.c: scripts/embed-ui.sh $(UI_FILES) $(UI_DIRS)
	@mkdir -p $(B)/gen
	$(SAY) "  GEN     $@"
	$(Q)bash scripts/embed-ui.sh $@ ui

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(SAY) "  AR      $@"
	$(Q)ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(SAY) "  LD      $@"
	$(Q)$(CC) $(SANFLAGS) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS_ALL)

# ---- tests ----
HANDLER_SRC := $(sort $(wildcard tests/handlers/*.c))
DRIVER_OBJ := $(patsubst %.c,$(B)/obj/%.o,tests/driver.c $(HANDLER_SRC))
DRIVER := $(B)/tests/casedriver
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRC))
FUZZ_SRC := $(sort $(wildcard fuzz/*.c))
FUZZ_HARNESS := $(filter-out fuzz/replay_main.c,$(FUZZ_SRC))
REPLAY_BIN := $(patsubst fuzz/%.c,$(B)/fuzz-replay/%,$(FUZZ_HARNESS))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

$(B)/gen/case_handlers.h: $(HANDLER_SRC)
	@mkdir -p $(dir $@)
	@grep -ho 'CASE_HANDLER([a-z_0-9]*)' $(HANDLER_SRC) /dev/null | sed 's/CASE_HANDLER(\(.*\))/X(\1)/' | sort -u > $@.tmp
	@mv $@.tmp $@

$(B)/obj/tests/driver.o: $(B)/gen/case_handlers.h

$(DRIVER): $(DRIVER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(SAY) "  LD      $@"
	$(Q)$(CC) $(SANFLAGS) $(CFLAGS) -o $@ $(DRIVER_OBJ) $(LIB) $(LDLIBS_ALL)

$(B)/tests/unit/%: tests/unit/%.c $(LIB) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CCLD    $@"
	$(Q)$(CC) $(filter-out -Wmissing-prototypes,$(ALL_CFLAGS)) -o $@ $< $(LIB) $(LDLIBS_ALL) -lcmocka

$(B)/fuzz-replay/%: fuzz/%.c fuzz/replay_main.c $(LIB) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< fuzz/replay_main.c $(LIB) $(LDLIBS_ALL)

$(B)/bench/%: bench/%.c $(LIB) | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(SAY) "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

test-bins: $(BIN) $(DRIVER) $(UNIT_BIN) $(REPLAY_BIN)
# load tools the shell tests drive (bench/*.c, not benchmarks themselves)
test-bins: $(B)/bench/flood_http $(B)/bench/loadgen_http
test-bins: $(B)/bench/h2flood $(B)/bench/loadgen_grpc

check: setup
	@$(MAKE) --no-print-directory test-bins
	@bash scripts/run-tests.sh $(B)

test: check

# ---- fuzzing (clang + libFuzzer) ----
FUZZ_B := build-fuzz
fuzz: setup
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=clang CXX=clang++ \
	  SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  OPT="-O1 -g" $(FUZZ_B)/libtracecheck.a
	@mkdir -p $(FUZZ_B)/fuzz
	@for f in $(FUZZ_HARNESS); do n=$$(basename $$f .c); \
	  echo "  FUZZ    $$n"; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -I$(FUZZ_B)/gen $(PKG_CFLAGS) \
	    -o $(FUZZ_B)/fuzz/$$n $$f $(FUZZ_B)/libtracecheck.a $(LDLIBS_ALL) || exit 1; done

FUZZ_SECONDS ?= 20
fuzz-run: fuzz
	@bash scripts/fuzz.sh $(FUZZ_B)/fuzz $(FUZZ_SECONDS)

demo: setup
	@$(MAKE) --no-print-directory $(BIN)
	@bash demo/run.sh $(BIN)

bench: setup
	@$(MAKE) --no-print-directory $(BENCH_BIN)
	@bash bench/run.sh $(B)

clean:
	rm -rf build build-asan build-fuzz build-*

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

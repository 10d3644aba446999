# Fuzzing (issue 6).  Each tests/fuzz/fuzz_NAME.c is a libFuzzer target
# (LLVMFuzzerTestOneInput) for one sans-I/O parser, with a seed corpus in
# tests/fuzz/corpus/NAME (made by make-seeds.py) and the inputs of fixed
# crashes in tests/fuzz/regressions/NAME.
#
#   make check   replay_NAME runs every regression and seed through the
#                target without libFuzzer (so also under ASan/UBSan with
#                --enable-sanitizers)
#   make fuzz    run-fuzz.sh builds the targets with clang
#                -fsanitize=fuzzer,address,undefined, replays the regressions
#                and seeds, and fuzzes each for FUZZ_SECONDS (default 60);
#                FUZZ_JOBS, FUZZ_WORKDIR and FUZZ_FLAGS pass through
#   make fuzz-coverage   line/branch coverage of each parser (coverage.sh)
FUZZ_TARGETS = http_request ws_frame ws_hixie ws_deflate handler_codec sse fcgi_record \
	http_response sse_parse ws_client
FUZZ_REPLAYS = \
	tests/fuzz/replay_http_request \
	tests/fuzz/replay_ws_frame \
	tests/fuzz/replay_ws_hixie \
	tests/fuzz/replay_ws_deflate \
	tests/fuzz/replay_handler_codec \
	tests/fuzz/replay_sse \
	tests/fuzz/replay_fcgi_record \
	tests/fuzz/replay_http_response \
	tests/fuzz/replay_sse_parse \
	tests/fuzz/replay_ws_client
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
FUZZ_REPLAY_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz \
	-DFUZZ_SRCDIR='"$(abs_top_srcdir)"'
FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS)
FUZZ_REPLAY_LDADD = $(CORE_LIBS)

tests_fuzz_replay_http_request_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_http_request.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_http_request_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"http_request"'
tests_fuzz_replay_http_request_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_http_request_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_ws_frame_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_frame.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_ws_frame_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"ws_frame"'
tests_fuzz_replay_ws_frame_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_ws_frame_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_ws_hixie_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_hixie.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_ws_hixie_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"ws_hixie"'
tests_fuzz_replay_ws_hixie_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_ws_hixie_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_ws_deflate_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_deflate.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_ws_deflate_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"ws_deflate"'
tests_fuzz_replay_ws_deflate_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_ws_deflate_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_handler_codec_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_handler_codec.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_handler_codec_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"handler_codec"'
tests_fuzz_replay_handler_codec_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_handler_codec_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_sse_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sse.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_sse_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"sse"'
tests_fuzz_replay_sse_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_sse_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_fcgi_record_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_fcgi_record.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_fcgi_record_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"fcgi_record"'
tests_fuzz_replay_fcgi_record_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_fcgi_record_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_http_response_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_http_response.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_http_response_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"http_response"'
tests_fuzz_replay_http_response_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_http_response_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_sse_parse_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_sse_parse.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_sse_parse_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"sse_parse"'
tests_fuzz_replay_sse_parse_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_sse_parse_LDADD = $(FUZZ_REPLAY_LDADD)

tests_fuzz_replay_ws_client_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ws_client.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_ws_client_CPPFLAGS = $(FUZZ_REPLAY_CPPFLAGS) -DFUZZ_NAME='"ws_client"'
tests_fuzz_replay_ws_client_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_replay_ws_client_LDADD = $(FUZZ_REPLAY_LDADD)

EXTRA_DIST += tests/fuzz/run-fuzz.sh tests/fuzz/coverage.sh tests/fuzz/make-seeds.py \
	tests/fuzz/corpus tests/fuzz/regressions tests/fuzz/dict

fuzz:
	FUZZ_WORKDIR=$${FUZZ_WORKDIR:-$(abs_top_builddir)/fuzz-work} \
	TOP_SRCDIR=$(abs_top_srcdir) \
	bash $(abs_top_srcdir)/tests/fuzz/run-fuzz.sh $(FUZZ_TARGETS)
.PHONY: fuzz
# Line and branch coverage of each parser by the seeds, regressions and
# what `make fuzz` found (needs llvm-cov and llvm-profdata).
fuzz-coverage:
	FUZZ_WORKDIR=$${FUZZ_WORKDIR:-$(abs_top_builddir)/fuzz-work} \
	TOP_SRCDIR=$(abs_top_srcdir) \
	bash $(abs_top_srcdir)/tests/fuzz/coverage.sh $(FUZZ_TARGETS)
.PHONY: fuzz-coverage
clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(abs_top_builddir)/fuzz-work
.PHONY: clean-fuzz

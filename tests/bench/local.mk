# Benchmarks (issue 7).  The tools are built with everything else so they
# cannot rot; `make bench` runs them against pushpipe and websocketd.
noinst_PROGRAMS += tests/bench/wsload tests/bench/sse_ceiling tests/bench/parse_bench
tests_bench_wsload_SOURCES = tests/bench/wsload.c
tests_bench_wsload_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_wsload_LDADD = $(OPENSSL_LIBS)
tests_bench_sse_ceiling_SOURCES = tests/bench/sse_ceiling.c
tests_bench_parse_bench_SOURCES = tests/bench/parse_bench.c
tests_bench_parse_bench_LDADD = $(CORE_LIBS)
EXTRA_DIST += tests/bench/run-bench.sh
CLEANFILES += bench-raw.txt

# BENCH_DURATION (seconds per run, default 5), BENCH_REPS (default 3),
# BENCH_SERVERS and the rest (see run-bench.sh) pass through the environment.
bench: tests/bench/wsload$(EXEEXT) tests/bench/sse_ceiling$(EXEEXT) \
		tests/bench/parse_bench$(EXEEXT) pushpipe$(EXEEXT)
	PUSHPIPE=$(abs_top_builddir)/pushpipe$(EXEEXT) \
	WSLOAD=$(abs_top_builddir)/tests/bench/wsload$(EXEEXT) \
	SSE_CEILING=$(abs_top_builddir)/tests/bench/sse_ceiling$(EXEEXT) \
	PARSE_BENCH=$(abs_top_builddir)/tests/bench/parse_bench$(EXEEXT) \
	bash $(abs_top_srcdir)/tests/bench/run-bench.sh
.PHONY: bench

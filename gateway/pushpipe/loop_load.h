/* loop_load.h - how busy each event loop is, for the supervisor's choice.
 *
 * A loop that is awake anyway serves one more connection for less than a
 * sleeping loop costs to wake: its epoll_wait returns more events per
 * call and fewer processes bounce between the CPUs.  So the supervisor
 * packs new connections onto the first loops and moves on to the next
 * one only when a loop is busy or holds many connections (supervisor.c,
 * pool_pick).  Each loop measures the share of wall-clock time it spends
 * outside epoll_wait and publishes it, in thousandths, in a page shared
 * with the supervisor.
 */
#ifndef PUSHPIPE_LOOP_LOAD_H
#define PUSHPIPE_LOOP_LOAD_H

#include <stdatomic.h>
#include <stdint.h>

/* One figure per loop in a MAP_SHARED page, or NULL (then every loop
 * reads as idle).  n at most LOOP_LOAD_MAX. */
#define LOOP_LOAD_MAX 64
atomic_uint *loop_load_create(int n);
void loop_load_free(atomic_uint *load, int n);

/* The loop's side: the time awake since the window began; published
 * every LOOP_LOAD_WINDOW_NS.  Times are CLOCK_MONOTONIC nanoseconds the
 * loop reads anyway around its epoll_wait. */
#define LOOP_LOAD_WINDOW_NS 100000000LL
struct load_meter {
    atomic_uint *out;       /* NULL: measure nothing */
    int64_t window_start, busy_ns, woke;
    unsigned last;          /* the figure published last */
};
void load_meter_init(struct load_meter *m, atomic_uint *out, int64_t now);
/* Around each epoll_wait. */
void load_meter_sleep(struct load_meter *m, int64_t now);
void load_meter_wake(struct load_meter *m, int64_t now);
/* The epoll_wait timeout (ms, -1: none) to use instead of timeout: a loop
 * that last published a busy figure wakes once more after a window to
 * publish that it is idle now; a figure left standing would keep the
 * supervisor away from a loop that has nothing to do. */
int load_meter_timeout(const struct load_meter *m, int timeout);

/* The supervisor's side: loop k's last figure, 0..1000. */
unsigned loop_load_busy(const atomic_uint *load, int k);
void loop_load_reset(atomic_uint *load, int k);

/* Packing pays where connections live long and carry messages, which
 * batch on a loop that is awake anyway.  Short connections are mostly
 * per-connection work that does not batch (handshake, starting and
 * reaping the handler), and one loop holding all of them became the
 * queue every connection waited in: at 1,300 connections/s, packed, the
 * two CPUs were idle 15% of the time; spread, 6%, for 12% more
 * connections/s.  So the supervisor counts connections that end: while
 * LOOP_CHURN_SPREAD or more end per window, new ones are spread.  Times
 * are CLOCK_MONOTONIC nanoseconds. */
#define LOOP_CHURN_WINDOW_NS 100000000LL
#define LOOP_CHURN_SPREAD 20
struct churn_meter {
    int64_t window_start;
    unsigned ends, last;    /* this window's ends; the last window's */
};
void churn_meter_init(struct churn_meter *m, int64_t now);
void churn_meter_ended(struct churn_meter *m, unsigned n, int64_t now);
int churn_meter_high(struct churn_meter *m, int64_t now);

/* The loop for a new connection, -1 if none runs.  Packing: the first
 * that is busy less than half the time (LOOP_LOAD_PACK_BUSY) and holds
 * fewer than pack connections; when every loop is past that, or when
 * spread is set, the one with the fewest.  nconns[k] is LOOP_DOWN for a
 * loop that is not running. */
#define LOOP_DOWN 0xffffffffu
#define LOOP_LOAD_PACK_BUSY 500
int loop_pick(const unsigned *nconns, int n, const atomic_uint *load, unsigned pack, int spread);

#endif

#include "pushpipe/loop_load.h"

#include <stddef.h>
#include <sys/mman.h>

atomic_uint *loop_load_create(int n)
{
    if (n <= 0 || n > LOOP_LOAD_MAX)
        return NULL;
    void *p = mmap(NULL, (size_t)n * sizeof(atomic_uint), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    atomic_uint *load = p;
    for (int k = 0; k < n; k++)
        atomic_init(&load[k], 0);
    return load;
}

void loop_load_free(atomic_uint *load, int n)
{
    if (load)
        munmap(load, (size_t)n * sizeof(atomic_uint));
}

void load_meter_init(struct load_meter *m, atomic_uint *out, int64_t now)
{
    m->out = out;
    m->window_start = m->woke = now;
    m->busy_ns = 0;
    m->last = 0;
}

/* A window that includes a long sleep publishes a low figure when the
 * loop wakes; until then the last figure stands, which at worst sends a
 * connection to the next loop. */
static void publish(struct load_meter *m, int64_t now)
{
    int64_t span = now - m->window_start;
    if (span < LOOP_LOAD_WINDOW_NS)
        return;
    int64_t busy = m->busy_ns > span ? span : m->busy_ns;
    m->last = (unsigned)(busy * 1000 / span);
    atomic_store_explicit(m->out, m->last, memory_order_relaxed);
    m->window_start = now;
    m->busy_ns = 0;
}

void load_meter_sleep(struct load_meter *m, int64_t now)
{
    if (!m->out)
        return;
    m->busy_ns += now - m->woke;
    publish(m, now);
}

void load_meter_wake(struct load_meter *m, int64_t now)
{
    if (!m->out)
        return;
    m->woke = now;
    publish(m, now);
}

int load_meter_timeout(const struct load_meter *m, int timeout)
{
    const int window_ms = (int)(LOOP_LOAD_WINDOW_NS / 1000000) + 1;
    if (!m->out || !m->last || (timeout >= 0 && timeout <= window_ms))
        return timeout;
    return window_ms;
}

unsigned loop_load_busy(const atomic_uint *load, int k)
{
    return load ? atomic_load_explicit(&load[k], memory_order_relaxed) : 0;
}

void loop_load_reset(atomic_uint *load, int k)
{
    if (load)
        atomic_store_explicit(&load[k], 0, memory_order_relaxed);
}

void churn_meter_init(struct churn_meter *m, int64_t now)
{
    m->window_start = now;
    m->ends = m->last = 0;
}

/* A window that is over becomes `last`; after a quiet window or longer,
 * the figure is stale and reads as none. */
static void churn_roll(struct churn_meter *m, int64_t now)
{
    int64_t span = now - m->window_start;
    if (span < LOOP_CHURN_WINDOW_NS)
        return;
    m->last = span < 2 * LOOP_CHURN_WINDOW_NS ? m->ends : 0;
    m->ends = 0;
    m->window_start = now;
}

void churn_meter_ended(struct churn_meter *m, unsigned n, int64_t now)
{
    churn_roll(m, now);
    m->ends += n;
}

int churn_meter_high(struct churn_meter *m, int64_t now)
{
    churn_roll(m, now);
    return m->last >= LOOP_CHURN_SPREAD || m->ends >= LOOP_CHURN_SPREAD;
}

int loop_pick(const unsigned *nconns, int n, const atomic_uint *load, unsigned pack, int spread)
{
    int best = -1;
    for (int k = 0; k < n; k++) {
        if (nconns[k] == LOOP_DOWN)
            continue;
        if (!spread && nconns[k] < pack && loop_load_busy(load, k) < LOOP_LOAD_PACK_BUSY)
            return k;
        if (best < 0 || nconns[k] < nconns[best])
            best = k;
    }
    return best;
}

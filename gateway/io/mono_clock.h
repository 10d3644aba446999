/* mono_clock.h - CLOCK_MONOTONIC in the units the timers use: one
 * definition for every layer (io, the session, pushpipe, pushcat). */
#ifndef PUSHPIPE_IO_MONO_CLOCK_H
#define PUSHPIPE_IO_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline long long now_ms(void)
{
    return (long long)(mono_ns() / 1000000);
}

#endif

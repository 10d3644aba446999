#include "unit.h"

#include <sys/wait.h>
#include <unistd.h>

#include "pushpipe/loop_load.h"

#define MS 1000000LL     /* nanoseconds */

START_TEST(packs_onto_the_first_loop_with_room)
{
    atomic_uint load[3];
    for (int k = 0; k < 3; k++)
        atomic_init(&load[k], 0);
    unsigned n[3] = { 5, 0, 0 };
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 0);
    n[0] = 255;
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 0);
    n[0] = 256;         /* full: the next one */
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 1);
    n[0] = 3;
    atomic_store(&load[0], LOOP_LOAD_PACK_BUSY);    /* busy half the time: the next one */
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 1);
    atomic_store(&load[0], LOOP_LOAD_PACK_BUSY - 1);
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 0);
}
END_TEST

START_TEST(all_past_the_mark_takes_the_fewest)
{
    atomic_uint load[3];
    for (int k = 0; k < 3; k++)
        atomic_init(&load[k], 900);     /* all busy */
    unsigned n[3] = { 7, 4, 9 };
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 1);
    /* pack 1 spreads evenly: the fewest whenever none is empty */
    for (int k = 0; k < 3; k++)
        atomic_store(&load[k], 0);
    ck_assert_int_eq(loop_pick(n, 3, load, 1, 0), 1);
    n[2] = 0;
    ck_assert_int_eq(loop_pick(n, 3, load, 1, 0), 2);
}
END_TEST

START_TEST(loops_that_are_down_are_skipped)
{
    unsigned n[3] = { LOOP_DOWN, 300, LOOP_DOWN };
    /* no figures (NULL): every loop reads as idle */
    ck_assert_int_eq(loop_pick(n, 3, NULL, 256, 0), 1);
    n[1] = LOOP_DOWN;
    ck_assert_int_eq(loop_pick(n, 3, NULL, 256, 0), -1);
    ck_assert_int_eq(loop_pick(n, 0, NULL, 256, 0), -1);
}
END_TEST

START_TEST(spread_takes_the_fewest_whatever_the_room)
{
    atomic_uint load[3];
    for (int k = 0; k < 3; k++)
        atomic_init(&load[k], 0);
    unsigned n[3] = { 4, 3, 5 };
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 0), 0);    /* packing */
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 1), 1);    /* spreading */
    n[1] = 4;           /* a tie goes to the first */
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 1), 0);
    n[0] = LOOP_DOWN;
    ck_assert_int_eq(loop_pick(n, 3, load, 256, 1), 1);
}
END_TEST

START_TEST(churn_is_high_past_the_mark_per_window)
{
    struct churn_meter m;
    int64_t t = 7000 * MS;
    churn_meter_init(&m, t);
    ck_assert_int_eq(churn_meter_high(&m, t), 0);
    churn_meter_ended(&m, LOOP_CHURN_SPREAD - 1, t + 10 * MS);
    ck_assert_int_eq(churn_meter_high(&m, t + 20 * MS), 0);
    churn_meter_ended(&m, 1, t + 30 * MS);     /* the mark, within the window */
    ck_assert_int_eq(churn_meter_high(&m, t + 40 * MS), 1);
    /* the next window starts empty but the last one still counts */
    t += 100 * MS;
    churn_meter_ended(&m, 2, t + 5 * MS);
    ck_assert_int_eq(churn_meter_high(&m, t + 50 * MS), 1);
    /* a window below the mark ends it */
    ck_assert_int_eq(churn_meter_high(&m, t + 110 * MS), 0);
    /* a burst, then silence for longer than a window: stale, not high */
    churn_meter_ended(&m, 100, t + 120 * MS);
    ck_assert_int_eq(churn_meter_high(&m, t + 130 * MS), 1);
    ck_assert_int_eq(churn_meter_high(&m, t + 500 * MS), 0);
}
END_TEST

START_TEST(meter_publishes_the_share_awake)
{
    atomic_uint out;
    atomic_init(&out, 12345);
    struct load_meter m;
    int64_t t = 5000 * MS;
    load_meter_init(&m, &out, t);
    t += 150 * MS;              /* awake all the window */
    load_meter_sleep(&m, t);
    ck_assert_uint_eq(atomic_load(&out), 1000);
    /* busy last: the loop must wake after a window to say it is idle */
    ck_assert_int_eq(load_meter_timeout(&m, -1), LOOP_LOAD_WINDOW_NS / MS + 1);
    ck_assert_int_eq(load_meter_timeout(&m, 5000), LOOP_LOAD_WINDOW_NS / MS + 1);
    ck_assert_int_eq(load_meter_timeout(&m, 7), 7);
    t += 200 * MS;              /* asleep all the next */
    load_meter_wake(&m, t);
    ck_assert_uint_eq(atomic_load(&out), 0);    /* nothing awake since the last figure */
    ck_assert_int_eq(load_meter_timeout(&m, -1), -1);   /* idle: sleep as long as asked */
    /* a window not yet over publishes nothing */
    atomic_store(&out, 777);
    t += 30 * MS;
    load_meter_sleep(&m, t);
    t += 30 * MS;
    load_meter_wake(&m, t);
    ck_assert_uint_eq(atomic_load(&out), 777);
    /* 40 ms more awake closes the window: 30 + 40 of 100 ms */
    t += 40 * MS;
    load_meter_sleep(&m, t);
    ck_assert_uint_eq(atomic_load(&out), 700);
    /* without a place to publish, the meter does nothing */
    struct load_meter none;
    load_meter_init(&none, NULL, t);
    load_meter_sleep(&none, t + 500 * MS);
    load_meter_wake(&none, t + 900 * MS);
    ck_assert_int_eq(load_meter_timeout(&none, -1), -1);
}
END_TEST

START_TEST(figures_cross_fork)
{
    atomic_uint *load = loop_load_create(2);
    ck_assert_ptr_nonnull(load);
    ck_assert_uint_eq(loop_load_busy(load, 1), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        atomic_store(&load[1], 640);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_uint_eq(loop_load_busy(load, 1), 640);
    loop_load_reset(load, 1);
    ck_assert_uint_eq(loop_load_busy(load, 1), 0);
    loop_load_free(load, 2);
    ck_assert_ptr_null(loop_load_create(0));
    ck_assert_ptr_null(loop_load_create(LOOP_LOAD_MAX + 1));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("loop_load");
    TCase *tc = tcase_create("pick");
    tcase_add_test(tc, packs_onto_the_first_loop_with_room);
    tcase_add_test(tc, all_past_the_mark_takes_the_fewest);
    tcase_add_test(tc, loops_that_are_down_are_skipped);
    tcase_add_test(tc, spread_takes_the_fewest_whatever_the_room);
    tcase_add_test(tc, churn_is_high_past_the_mark_per_window);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("meter");
    tcase_add_test(tm, meter_publishes_the_share_awake);
    tcase_add_test(tm, figures_cross_fork);
    suite_add_tcase(s, tm);
    return s;
}

UNIT_MAIN

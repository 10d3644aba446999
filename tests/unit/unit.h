/* unit.h - the one main() every Check unit test program shares. */
#ifndef PUSHPIPE_UNIT_H
#define PUSHPIPE_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Each test program defines make_suite() and ends with UNIT_MAIN. */
#define UNIT_MAIN                                                   \
    int main(void)                                                  \
    {                                                               \
        SRunner *sr = srunner_create(make_suite());                 \
        srunner_run_all(sr, CK_NORMAL);                             \
        int failed = srunner_ntests_failed(sr);                     \
        srunner_free(sr);                                           \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;           \
    }

#endif

#include "unit.h"
static Suite *make_suite(void) { return suite_create("request_env"); }
UNIT_MAIN

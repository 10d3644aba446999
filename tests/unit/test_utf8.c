#include "unit.h"
static Suite *make_suite(void) { return suite_create("utf8"); }
UNIT_MAIN

#include "unit.h"
static Suite *make_suite(void) { return suite_create("handler_codec"); }
UNIT_MAIN

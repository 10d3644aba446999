#include "unit.h"
static Suite *make_suite(void) { return suite_create("http_request"); }
UNIT_MAIN

#include "unit.h"
static Suite *make_suite(void) { return suite_create("ws_handshake"); }
UNIT_MAIN

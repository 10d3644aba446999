#include "unit.h"

#include <string.h>

#include "core/cgi_env.h"

START_TEST(keeps_request_vars_drops_the_rest)
{
    char *vars[] = {
        "FCGI_ROLE=RESPONDER", "PATH=/usr/sbin:/sbin", "SERVER_ADMIN=root@x",
        "REQUEST_METHOD=GET", "QUERY_STRING=a=1&b=2", "HTTP_ACCEPT=text/event-stream",
        "HTTP_PROXY=http://evil:8080", "HTTP_LAST_EVENT_ID=41", "REMOTE_ADDR=127.0.0.1",
        "REMOTE_PORT=5555", "LD_PRELOAD=/tmp/x.so", "SCRIPT_NAME=/events",
        "SERVER_PROTOCOL=HTTP/1.1", "HTTP_=x", "=novalue", "NOEQUALS",
        "HTTP_X-Y=not a variable name", "HTTP_X Y=neither", NULL
    };
    struct request_env e;
    ck_assert_int_eq(request_env_init(&e, 4096), 0);
    ck_assert_int_eq(cgi_env_from_vars(&e, vars), 0);
    ck_assert_str_eq(request_env_get(&e, "REQUEST_METHOD"), "GET");
    ck_assert_str_eq(request_env_get(&e, "QUERY_STRING"), "a=1&b=2");
    ck_assert_str_eq(request_env_get(&e, "HTTP_ACCEPT"), "text/event-stream");
    ck_assert_str_eq(request_env_get(&e, "HTTP_LAST_EVENT_ID"), "41");
    ck_assert_str_eq(request_env_get(&e, "SCRIPT_NAME"), "/events");
    ck_assert_str_eq(request_env_get(&e, "GATEWAY_INTERFACE"), "CGI/1.1");
    ck_assert_ptr_null(request_env_get(&e, "FCGI_ROLE"));
    ck_assert_ptr_null(request_env_get(&e, "PATH"));
    ck_assert_ptr_null(request_env_get(&e, "SERVER_ADMIN"));
    ck_assert_ptr_null(request_env_get(&e, "HTTP_PROXY"));
    ck_assert_ptr_null(request_env_get(&e, "LD_PRELOAD"));
    ck_assert_ptr_null(request_env_get(&e, "HTTP_"));
    /* names that are no variable names are skipped, the request is served */
    ck_assert_ptr_null(request_env_get(&e, "HTTP_X-Y"));
    ck_assert_ptr_null(request_env_get(&e, "HTTP_X Y"));
    request_env_free(&e);
}
END_TEST

START_TEST(script_name_from_request_uri)
{
    char *vars[] = { "REQUEST_URI=/chat/room?x=1", "GATEWAY_INTERFACE=CGI/1.1", NULL };
    struct request_env e;
    ck_assert_int_eq(request_env_init(&e, 1024), 0);
    ck_assert_int_eq(cgi_env_from_vars(&e, vars), 0);
    ck_assert_str_eq(request_env_get(&e, "SCRIPT_NAME"), "/chat/room");
    request_env_free(&e);
}
END_TEST

START_TEST(full_env_fails)
{
    char big[600];
    memset(big, 'x', sizeof big);
    memcpy(big, "HTTP_X=", 7);
    big[sizeof big - 1] = '\0';
    char *vars[] = { big, NULL };
    struct request_env e;
    ck_assert_int_eq(request_env_init(&e, 256), 0);
    ck_assert_int_eq(cgi_env_from_vars(&e, vars), -1);
    request_env_free(&e);
}
END_TEST

START_TEST(name_filter)
{
    ck_assert_int_eq(cgi_env_is_request_var("HTTP_UPGRADE", 12), 1);
    ck_assert_int_eq(cgi_env_is_request_var("HTTP_PROXY", 10), 0);
    ck_assert_int_eq(cgi_env_is_request_var("HTTP_PROXY_X", 12), 1);
    ck_assert_int_eq(cgi_env_is_request_var("HTTPS", 5), 1);
    ck_assert_int_eq(cgi_env_is_request_var("REQUEST_URIX", 12), 0);
    ck_assert_int_eq(cgi_env_is_request_var("REQUEST_URI", 11), 1);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cgi_env");
    TCase *t = tcase_create("vars");
    tcase_add_test(t, keeps_request_vars_drops_the_rest);
    tcase_add_test(t, script_name_from_request_uri);
    tcase_add_test(t, full_env_fails);
    tcase_add_test(t, name_filter);
    suite_add_tcase(s, t);
    return s;
}

UNIT_MAIN

/* request_env.c: being written */

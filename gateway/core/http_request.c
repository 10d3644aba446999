/* http_request.c: being written */

/* ws_close.c: being written */

/* ws_frame.c: being written */

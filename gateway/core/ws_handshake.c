/* ws_handshake.c: being written */

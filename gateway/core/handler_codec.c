/* handler_codec.c: being written */

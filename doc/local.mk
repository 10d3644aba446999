# Manual pages.
dist_man_MANS += doc/pushpipe.1

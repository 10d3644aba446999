# The demo pages in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from npm, installed into tests/browser/node_modules by the
# test itself with `npm ci`; into the build tree when the source tree is
# read-only).  Screenshots go to $(builddir)/tests/out/.
TESTS += tests/browser/pages.js
EXTRA_DIST += tests/browser/pages.js tests/browser/package.json tests/browser/package-lock.json
clean-local: clean-browser-tests
clean-browser-tests:
	-rm -rf tests/out tests/browser-npm
.PHONY: clean-browser-tests

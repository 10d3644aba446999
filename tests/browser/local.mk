# The demo pages in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from npm, installed into tests/browser/node_modules by the
# test itself with `npm ci`).  Screenshots go to $(builddir)/tests/out/.
TESTS += tests/browser/pages.js
EXTRA_DIST += tests/browser/pages.js tests/browser/package.json tests/browser/package-lock.json

# The demo site and ready configurations for web servers.
examplesdir = $(pkgdatadir)/examples
sitedir = $(examplesdir)/site
dist_site_DATA = examples/site/index.html examples/site/style.css examples/site/demo.js

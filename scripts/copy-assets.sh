#!/usr/bin/env bash
# Copy the distributed files of the npm packages into the package's static folder.
set -euo pipefail
dest=${1:?usage: copy-assets.sh DEST}
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/echarts/dist/echarts.min.js "$dest/echarts.min.js"
# Swagger UI for /docs, served from here so the API docs work offline (no CDN).
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js "$dest/swagger-ui-bundle.js"
cp node_modules/swagger-ui-dist/swagger-ui.css "$dest/swagger-ui.css"

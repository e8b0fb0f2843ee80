#!/usr/bin/env bash
# Copy the distributed files of the npm packages into the package's static folder.
set -euo pipefail
dest=${1:?usage: copy-assets.sh DEST}
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/echarts/dist/echarts.min.js "$dest/echarts.min.js"

#!/bin/sh
# Refresh the JavaScript libraries vendored into memlens's HTML report and dashboard from the
# npm registry (the report works offline: nothing is loaded from a CDN). Usage:
#   scripts/refresh_assets.sh [ECHARTS_VERSION]     (default: the version pinned below)
# Writes src/memlens/render/html/assets/{echarts.min.js,echarts.LICENSE,echarts.NOTICE} and
# prints the version; update the README's table of vendored assets when it changes.
set -eu
ECHARTS_VERSION=${1:-6.1.0}
here=$(cd "$(dirname "$0")/.." && pwd)
assets="$here/src/memlens/render/html/assets"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null && tar xzf echarts-*.tgz)
cp "$work/package/dist/echarts.min.js" "$assets/echarts.min.js"
cp "$work/package/LICENSE" "$assets/echarts.LICENSE"
cp "$work/package/NOTICE" "$assets/echarts.NOTICE"
version=$(node -p "require('$work/package/package.json').version")
printf '%s\n' "$version" >"$assets/echarts.VERSION"
echo "echarts $version (Apache-2.0) -> $assets"

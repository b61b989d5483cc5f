#!/usr/bin/env bash
# Refresh static/govuk-frontend from the govuk-frontend package on the npm registry.
#
#   scripts/update-govuk-frontend.sh            # reinstall the pinned version (static/govuk-frontend/VERSION)
#   scripts/update-govuk-frontend.sh 6.4.0      # move to another version
#
# Needs npm, but only here: the built files are committed, so the service runs without Node.js.
# After moving to another version, check that the govuk-frontend-jinja and govuk-frontend-wtf
# pins in pyproject.toml support it (govuk-frontend-jinja 4.x ports govuk-frontend 6.x) and run
# the tests: tests/web/test_assets.py checks the two agree.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/static/govuk-frontend"
version="${1:-$(cat "$dest/VERSION")}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm pack fetches the published tarball and checks it against the registry's integrity hash.
tarball="$(cd "$work" && npm pack --silent "govuk-frontend@$version")"
tar -xzf "$work/$tarball" -C "$work"
dist="$work/package/dist/govuk"
version="$(node -p "require('$work/package/package.json').version")"

build="$work/build"
mkdir -p "$build/assets"
cp -R "$dist/assets/fonts" "$dist/assets/images" "$dist/assets/manifest.json" "$build/assets/"
# The stylesheet asks for its fonts and images at /assets/; make those URLs relative, so they
# resolve to the copies beside it wherever the static folder is served from. Source maps are
# left out, so their comments go too.
sed -e 's#url(/assets/#url(assets/#g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
    "$dist/govuk-frontend.min.css" >"$build/govuk-frontend.min.css"
sed -e 's#//\# sourceMappingURL=.*$##' "$dist/govuk-frontend.min.js" >"$build/govuk-frontend.min.js"
if grep -q 'url(/' "$build/govuk-frontend.min.css"; then
    echo "govuk-frontend.min.css still has absolute URLs: check the sed above" >&2
    exit 1
fi
echo "$version" >"$build/VERSION"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$build" "$dest"
echo "static/govuk-frontend now holds govuk-frontend $version"

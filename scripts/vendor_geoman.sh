#!/usr/bin/env bash
# Re-create geo_app/serve/web/static/vendor/geoman/ from the npm registry: Leaflet-Geoman free (MIT),
# pinned by version and by the tarball's sha512 integrity that the registry publishes.
#
# Only the built JS/CSS and the licence are kept (the app serves them itself: no external host in the
# Content-Security-Policy). VERSION records what was vendored so a review can check it again with
#   npm view @geoman-io/leaflet-geoman-free@<version> dist.integrity
set -euo pipefail

PACKAGE="@geoman-io/leaflet-geoman-free"
VERSION="2.20.2"
INTEGRITY="sha512-KQpSe0VKyuVCudq/08rMjJW1vvIwFldTwBny2wZ7ABcyyUAP7/eoFo967hCu9yRqAAHb4QOxC6gY5dGqttY68g=="

root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/geo_app/serve/web/static/vendor/geoman"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

published="$(npm view "$PACKAGE@$VERSION" dist.integrity)"
if [ "$published" != "$INTEGRITY" ]; then
  echo "the registry's integrity for $PACKAGE@$VERSION is $published, not the pinned $INTEGRITY" >&2
  exit 1
fi
(cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "downloaded tarball has $actual, not the pinned $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/LICENSE package/dist/leaflet-geoman.min.js package/dist/leaflet-geoman.css

mkdir -p "$target"
cp "$work/package/dist/leaflet-geoman.min.js" "$work/package/dist/leaflet-geoman.css" "$work/package/LICENSE" "$target/"
# the source-map comment points at a file that is not vendored; without it browsers ask for nothing
sed -i '/^\/\/# sourceMappingURL=/d; s#//\# sourceMappingURL=[^ ]*$##' "$target/leaflet-geoman.min.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$target/leaflet-geoman.css"
cat > "$target/VERSION" <<EOF
package: $PACKAGE
version: $VERSION
integrity: $INTEGRITY
licence: MIT (LICENSE beside this file)
files: leaflet-geoman.min.js, leaflet-geoman.css (source-map comments removed), LICENSE
EOF
echo "vendored $PACKAGE@$VERSION into $target"

/* A small map on the OGC API HTML pages: the collection's first page of features, the page's own
   features, or one feature, drawn without a basemap (works offline). Leaflet is served by this app. */
(function () {
  'use strict';
  var el = document.getElementById('ogc-map');
  if (!el || typeof L === 'undefined') { return; }
  var map = L.map(el, {zoomControl: true, attributionControl: false});
  L.control.scale({imperial: false}).addTo(map);
  var style = {color: '#1f5fa8', weight: 1.5, fillOpacity: 0.2};
  var point = function (f, latlng) { return L.circleMarker(latlng, {radius: 4, color: '#1f5fa8'}); };
  var extent = JSON.parse(el.getAttribute('data-extent') || '[]');
  if (extent && extent.length === 4) {
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  } else {
    map.setView([22.3, 104.2], 8);
  }
  function draw(data) {
    var layer = L.geoJSON(data, {style: style, pointToLayer: point}).addTo(map);
    var b = layer.getBounds();
    if (b.isValid()) { map.fitBounds(b, {maxZoom: 14}); }
  }
  var feature = document.getElementById('ogc-map-feature');
  if (feature) { draw(JSON.parse(feature.textContent)); return; }
  var url = el.getAttribute('data-items');
  if (url) {
    fetch(url, {headers: {Accept: 'application/geo+json'}}).then(function (r) { return r.json(); }).then(draw);
  }
})();

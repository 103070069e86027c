/* The product page's map: the version's frozen area over the 2025 communes and former districts, the
   numbered boundary points, the difference from the last confirmed version; for officers, drawing with
   Leaflet-Geoman (served by this app) and clicking communes to toggle them in the draft form's list;
   the sheet preview on request. No external scripts or tiles. */
(function () {
  'use strict';
  var el = document.getElementById('product-map');
  if (!el || !window.L) { return; }
  var lang = el.getAttribute('data-lang') || 'vi';
  var T = JSON.parse(el.getAttribute('data-i18n'));
  var canDraw = el.getAttribute('data-draw') === '1' && !!(L.PM);
  if (canDraw) { L.PM.setOptIn(true); }  /* only what the officer draws is editable; communes are snap targets */
  var map = L.map(el, {zoomControl: true, pmIgnore: !canDraw ? undefined : false, preferCanvas: false});
  map.setView([22.35, 104.1], 9);
  L.control.scale({imperial: false}).addTo(map);
  var labelsAll = function () { el.classList.toggle('all-labels', map.getZoom() >= 14); };
  map.on('zoomend', labelsAll);
  labelsAll();
  var loaded = {};  /* which layers have arrived: the page's tests wait on this, never on time */
  el.setAttribute('data-loaded', '');

  function done(name) {
    loaded[name] = true;
    el.setAttribute('data-loaded', Object.keys(loaded).sort().join(' '));
  }
  function esc(v) {
    return (v === null || v === undefined) ? '' : String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;')
      .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function ha(v) {
    return Number(v).toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB',
      {minimumFractionDigits: 2, maximumFractionDigits: 2}) + ' ha';
  }
  function getJSON(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(function (r) {
      if (!r.ok) { throw new Error(url + ': ' + r.status); }
      return r.json();
    });
  }
  ['p-districts', 'p-communes', 'p-previous', 'p-diff', 'p-area', 'p-points'].forEach(function (name, i) {
    map.createPane(name).style.zIndex = String(400 + i);
  });

  /* ---- the draft form's commune list: clicking a commune toggles it there ---- */
  var select = document.getElementById('communes_2025');
  function isSelected(code) {
    if (!select) { return false; }
    var opt = select.querySelector('option[value="' + code + '"]');
    return !!(opt && opt.selected);
  }
  var base = {color: '#666', weight: 1, fillOpacity: 0.04, fillColor: '#999'};
  var chosen = {color: '#1565c0', weight: 2, fillOpacity: 0.25, fillColor: '#42a5f5'};
  var communes = L.geoJSON(null, {
    pane: 'p-communes', snapIgnore: false,
    style: function (f) { return isSelected(f.properties.code) ? chosen : base; },
    onEachFeature: function (f, layer) {
      var p = f.properties;
      layer.bindTooltip(esc(p.full_name) + ' (' + esc(p.code) + ')' + (select ? ' · ' + esc(T.click_toggle) : ''),
        {sticky: true});
      layer.on('click', function () {
        if (!select || (map.pm && map.pm.globalDrawModeEnabled && map.pm.globalDrawModeEnabled())) { return; }
        var opt = select.querySelector('option[value="' + p.code + '"]');
        if (!opt) { return; }
        opt.selected = !opt.selected;
        select.dispatchEvent(new Event('change', {bubbles: true}));
      });
    }
  }).addTo(map);
  if (select) { select.addEventListener('change', function () { communes.setStyle(communes.options.style); }); }
  getJSON(el.getAttribute('data-communes')).then(function (fc) { communes.addData(fc); done('communes'); });
  var districts = L.geoJSON(null, {pane: 'p-districts', interactive: false, snapIgnore: false,
    style: {color: '#6d4c41', weight: 2.5, dashArray: '6 4', fill: false}}).addTo(map);
  getJSON(el.getAttribute('data-districts')).then(function (fc) { districts.addData(fc); done('districts'); });

  /* ---- the version's frozen area and its boundary points ---- */
  var areaLayer = L.geoJSON(null, {pane: 'p-area', interactive: false,
    style: {color: '#c62828', weight: 3, fillColor: '#ef5350', fillOpacity: 0.2}}).addTo(map);
  var areaUrl = el.getAttribute('data-area');
  if (areaUrl) {
    getJSON(areaUrl).then(function (fc) {
      areaLayer.addData(fc);
      if (areaLayer.getLayers().length) { map.fitBounds(areaLayer.getBounds(), {padding: [20, 20]}); }
      done('area');
    });
    var points = L.geoJSON(null, {
      pane: 'p-points',
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {pane: 'p-points', radius: 3, color: '#b71c1c', weight: 1, fillOpacity: 1})
          .bindTooltip(String(f.properties.no), {permanent: true, direction: 'right', pane: 'p-points',
            /* as on the sheet: point 1 and every fifth numbered when zoomed out, all when zoomed in */
            className: 'point-label' + (f.properties.no === 1 || f.properties.no % 5 === 0 ? '' : ' minor')})
          .bindPopup(esc(T.point) + ' ' + esc(f.properties.no) + '<br>X ' + esc(f.properties.x_north) +
            '<br>Y ' + esc(f.properties.y_east));
      }
    }).addTo(map);
    getJSON(el.getAttribute('data-points')).then(function (fc) { points.addData(fc); done('points'); });
    compare(el.getAttribute('data-compare'));
  } else {
    done('area'); done('points'); done('compare');
  }

  /* ---- the difference from the last confirmed version: on the map and in the table ---- */
  function compare(url) {
    getJSON(url).then(function (d) {
      if (!d.previous) {
        document.getElementById('compare-none').hidden = false;
        done('compare');
        return;
      }
      L.geoJSON(d.previous.geometry, {pane: 'p-previous', interactive: false,
        style: {color: '#37474f', weight: 2, dashArray: '4 4', fill: false}}).addTo(map);
      if (d.added) {
        L.geoJSON(d.added, {pane: 'p-diff', style: {color: '#2e7d32', weight: 1, fillColor: '#66bb6a', fillOpacity: 0.5}})
          .bindTooltip(esc(T.added) + ': ' + ha(d.added_ha)).addTo(map);
      }
      if (d.removed) {
        L.geoJSON(d.removed, {pane: 'p-diff', style: {color: '#e65100', weight: 1, fillColor: '#ff9800', fillOpacity: 0.5}})
          .bindTooltip(esc(T.removed) + ': ' + ha(d.removed_ha)).addTo(map);
      }
      document.getElementById('compare-previous').textContent = '(' + d.previous.version + ')';
      document.getElementById('compare-old').textContent = ha(d.previous.area_ha);
      document.getElementById('compare-added').textContent = '+ ' + ha(d.added_ha);
      document.getElementById('compare-removed').textContent = '− ' + ha(d.removed_ha);
      document.getElementById('compare-new').textContent = ha(d.area_ha);
      document.getElementById('compare-box').hidden = false;
      done('compare');
    });
  }

  /* ---- drawing (officers): the drawn GeoJSON (WGS 84) goes with the draft form as a hidden field ---- */
  var form = document.getElementById('draft-form');
  if (canDraw && form) {
    var field = document.createElement('input');
    field.type = 'hidden';
    field.name = 'drawn';
    field.id = 'drawn';
    form.appendChild(field);
    var status = document.getElementById('draw-status');
    map.attributionControl.addAttribution('<a href="' + el.getAttribute('data-geoman-licence') +
      '">Leaflet-Geoman</a> (MIT)');
    /* Geoman has no Vietnamese: the page gives its words (through the app's translations) in both languages */
    map.pm.setLang('geo-app-' + lang, JSON.parse(el.getAttribute('data-pm-i18n')), 'en');
    map.pm.setGlobalOptions({snappable: true, snapDistance: 15, allowSelfIntersection: false,
      pathOptions: {color: '#6a1b9a', weight: 3, fillOpacity: 0.25}});
    map.pm.addControls({position: 'topleft', drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawCircle: false, drawText: false, rotateMode: false, dragMode: true, drawRectangle: true, drawPolygon: true,
      editMode: true, cutPolygon: true, removalMode: true});
    var drawnLayers = function () {
      return map.pm.getGeomanLayers().filter(function (l) { return l instanceof L.Polygon; });
    };
    var sync = function () {
      var features = drawnLayers().map(function (l) {
        var f = l.toGeoJSON(7);
        f.properties = {name: T.drawn};
        return f;
      });
      field.value = features.length ? JSON.stringify({type: 'FeatureCollection', features: features}) : '';
      status.textContent = status.getAttribute(features.length ? 'data-some' : 'data-none');
      el.setAttribute('data-drawn', String(features.length));
    };
    var watch = function (layer) {
      layer.on('pm:edit pm:update pm:dragend pm:cut pm:remove', sync);
    };
    map.on('pm:create', function (e) {
      e.layer.options.pmIgnore = false;
      L.PM.reInitLayer(e.layer);
      watch(e.layer);
      sync();
    });
    map.on('pm:cut', function (e) {
      if (e.layer) { e.layer.options.pmIgnore = false; L.PM.reInitLayer(e.layer); watch(e.layer); }
      sync();
    });
    map.on('pm:remove layerremove', sync);
    form.addEventListener('submit', sync);
    var editable = function (geojson) {
      L.geoJSON(geojson, {style: {color: '#6a1b9a', weight: 3, fillOpacity: 0.25}}).eachLayer(function (p) {
        p.options.pmIgnore = false;
        L.PM.reInitLayer(p);
        p.addTo(map);
        watch(p);
      });
      sync();
    };
    var fromCurrent = document.getElementById('draw-from-current');
    if (fromCurrent) {
      fromCurrent.addEventListener('click', function () {
        areaLayer.eachLayer(function (l) { editable(l.toGeoJSON(7)); });
      });
    }
    /* a refused save shows the form again: what the officer drew is still there to fix */
    var kept = el.getAttribute('data-drawn-kept');
    if (kept) {
      try { editable(JSON.parse(kept)); } catch (err) { /* not GeoJSON: the error above the form says so */ }
    }
    document.getElementById('draw-clear').addEventListener('click', function () {
      drawnLayers().forEach(function (l) { map.removeLayer(l); });
      sync();
    });
    sync();
  }

  /* ---- sheet preview: page 1 of the sheet, rendered once per boundary and paper ---- */
  var preview = document.getElementById('sheet-preview');
  if (preview) {
    var img = document.getElementById('preview-image');
    var link = document.getElementById('preview-link');
    var progress = document.getElementById('preview-progress');
    var failed = document.getElementById('preview-error');
    document.getElementById('preview-show').addEventListener('click', function () {
      var url = preview.getAttribute('data-url') + '?paper=' + encodeURIComponent(document.getElementById('preview-paper').value);
      progress.hidden = false;
      failed.hidden = true;
      img.onload = function () { progress.hidden = true; link.hidden = false; link.href = url; };
      img.onerror = function () { progress.hidden = true; failed.hidden = false; };
      img.src = url;
    });
  }
}());

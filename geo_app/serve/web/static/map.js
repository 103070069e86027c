/* Lào Cai web map: layers loaded per view and simplified per zoom, legend, toggles, search.
   No external scripts: Leaflet is served by this application. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('map-config').textContent);
  var el = document.getElementById('map');
  var lang = el.getAttribute('data-lang') || 'vi';
  var T = JSON.parse(el.getAttribute('data-i18n'));
  var map = L.map(el, {zoomControl: true}).setView(cfg.view.center, cfg.view.zoom);
  if (cfg.view.bounds) { map.fitBounds(cfg.view.bounds); }
  L.control.scale({imperial: false}).addTo(map);

  function esc(v) {
    return (v === null || v === undefined) ? '' : String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;')
      .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function title(t) { return (t && (t[lang] || t.vi)) || ''; }

  /* ---- basemap: OpenStreetMap online, or none (offline: no external request at all) ---- */
  var osm = cfg.basemap ? L.tileLayer(cfg.basemap, {maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'}) : null;
  var radios = document.querySelectorAll('input[name=basemap]');
  if (!osm) { document.querySelectorAll('.online-only').forEach(function (n) { n.style.display = 'none'; }); }
  function setBasemap(kind) {
    if (osm && kind === 'osm') { osm.addTo(map); } else if (osm) { map.removeLayer(osm); kind = 'none'; }
    else { kind = 'none'; }
    radios.forEach(function (r) { r.checked = (r.value === kind); });
    document.body.setAttribute('data-basemap', kind);
    try { localStorage.setItem('basemap', kind); } catch (e) { /* private mode */ }
  }
  radios.forEach(function (r) { r.addEventListener('change', function () { setBasemap(r.value); }); });
  var saved = null;
  try { saved = localStorage.getItem('basemap'); } catch (e) { /* ignore */ }
  setBasemap(saved || (osm ? 'osm' : 'none'));

  /* ---- popups: the rows of the layer YAML ([field, {vi, en}, unit, digits]), coded values in words ---- */
  function num(v, digits) {
    return Number(v).toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB',
      {maximumFractionDigits: digits === undefined ? 2 : digits});
  }
  function popup(def, p) {
    var head = p.full_name || p.label || p.name || p.unit || p.title || title(def.title);
    var rows = (def.popup || []).filter(function (f) { return p[f[0]] !== undefined && p[f[0]] !== null && p[f[0]] !== ''; })
      .map(function (f) {
        var v = p[f[0]], words = def.values && def.values[f[0]] && def.values[f[0]][v];
        v = words ? title(words) : (typeof v === 'number' ? num(v, f[3]) : v);
        return '<tr><th>' + esc(title(f[1])) + '</th><td>' + esc(v) + (f[2] ? ' ' + esc(f[2]) : '') + '</td></tr>';
      }).join('');
    return '<div class="popup"><b>' + esc(head) + '</b><table>' + rows + '</table></div>';
  }

  /* ---- layers, legend and toggles ---- */
  var list = document.getElementById('layer-list');
  var state = {};
  cfg.layers.forEach(function (def, i) {
    var pane = map.createPane('p-' + def.id);
    pane.style.zIndex = String(400 + i);
    var style = def.style || {};
    var byValue = {};
    if (def.classes) { def.classes.classes.forEach(function (c) { byValue[c.value] = L.extend({}, style, c.style); }); }
    /* a published raster result is one image over its bounds; every other layer is GeoJSON loaded per view */
    var layer = def.image ? L.imageOverlay(def.image, def.bounds, {pane: 'p-' + def.id, opacity: def.opacity || 0.75})
      : L.geoJSON(null, {
      pane: 'p-' + def.id,
      style: function (f) {
        return (def.classes && f && f.properties && byValue[f.properties[def.classes.field]]) || style;
      },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, L.extend({radius: style.radius || 5, pane: 'p-' + def.id}, style));
      },
      onEachFeature: function (f, l) { l.bindPopup(popup(def, f.properties)); }
    });
    var li = document.createElement('li');
    var input = document.createElement('input');
    input.type = 'checkbox'; input.id = 'toggle-' + def.id; input.checked = def.visible !== false;
    function swatch(st) {
      var sw = document.createElement('span');
      sw.className = 'swatch ' + (def.geometry && /Point/.test(def.geometry) ? 'pt' : (def.geometry && /Line/.test(def.geometry) ? 'ln' : 'pg'));
      sw.style.borderColor = st.color || '#333';
      sw.style.borderWidth = Math.min(st.weight || 1, 4) + 'px';
      if (st.fill !== false && !/Line/.test(def.geometry || '')) {
        sw.style.backgroundColor = st.fillColor || st.color || 'transparent';
        sw.style.opacity = st.fill === false ? 1 : Math.max(st.fillOpacity || 0.2, 0.35) + 0.3;
      }
      if (st.dashArray) { sw.style.borderStyle = 'dashed'; }
      return sw;
    }
    var label = document.createElement('label');
    label.htmlFor = input.id;
    label.appendChild(input);
    if (!def.classes && !def.image) { label.appendChild(swatch(style)); }
    label.appendChild(document.createTextNode(' ' + title(def.title)));
    li.appendChild(label);
    if (def.classes) {  /* one legend entry per class */
      var sub = document.createElement('ul');
      sub.className = 'legend-classes';
      def.classes.classes.forEach(function (c) {
        var item = document.createElement('li');
        item.className = 'legend-class legend-' + def.id + '-' + c.value;
        item.appendChild(swatch(byValue[c.value]));
        item.appendChild(document.createTextNode(' ' + title(c.title)));
        sub.appendChild(item);
      });
      li.appendChild(sub);
    }
    if (def.legend) {  /* an image's legend: its classes, or its colour ramp from minimum to maximum */
      var leg = document.createElement('ul');
      leg.className = 'legend-classes';
      (def.legend.classes || []).forEach(function (c) {
        var item = document.createElement('li');
        item.appendChild(swatch({color: c.color, fillColor: c.color, fillOpacity: 0.8}));
        item.appendChild(document.createTextNode(' ' + title(c.title)));
        leg.appendChild(item);
      });
      if (def.legend.ramp) {
        var item = document.createElement('li'), bar = document.createElement('span');
        bar.className = 'ramp';
        bar.style.background = 'linear-gradient(to right, ' + def.legend.ramp.join(', ') + ')';
        item.appendChild(document.createTextNode(num(def.legend.min, 1) + ' '));
        item.appendChild(bar);
        item.appendChild(document.createTextNode(' ' + num(def.legend.max, 1) + (def.legend.unit ? ' ' + def.legend.unit : '')));
        leg.appendChild(item);
      }
      li.appendChild(leg);
    }
    list.appendChild(li);
    state[def.id] = {def: def, layer: layer, input: input, key: null};
    input.addEventListener('change', function () {
      if (input.checked) { layer.addTo(map); load(def.id); } else { map.removeLayer(layer); }
      document.body.setAttribute('data-visible-' + def.id, String(input.checked));
    });
    document.body.setAttribute('data-visible-' + def.id, String(input.checked));
    if (input.checked) { layer.addTo(map); }
  });

  /* Whole layers at the province view; per-view boxes (snapped to a grid, so they cache) when zoomed in. */
  function request(def) {
    var z = Math.max(0, Math.floor(map.getZoom()));
    var url = def.url + (def.url.indexOf('?') < 0 ? '?' : '&') + 'zoom=' + z;
    if (z >= 10 && !def.whole) {
      var cell = 360 / Math.pow(2, z - 2), b = map.getBounds();
      var snap = function (v, up) { return (up ? Math.ceil(v / cell) : Math.floor(v / cell)) * cell; };
      url += '&bbox=' + [snap(b.getWest()), snap(b.getSouth()), snap(b.getEast(), true), snap(b.getNorth(), true)]
        .map(function (v) { return v.toFixed(6); }).join(',');
    }
    return url;
  }
  function load(id) {
    var s = state[id];
    if (!s.input.checked || !s.def.url) { return; }
    var url = request(s.def);
    if (url === s.key) { return; }
    s.key = url;
    fetch(url, {credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (data) {
      if (s.key !== url) { return; }
      s.layer.clearLayers();
      s.layer.addData(data);
      document.body.setAttribute('data-loaded-' + id, String(data.features.length));
    }).catch(function (e) { s.key = null; document.body.setAttribute('data-error-' + id, String(e)); });
  }
  function loadAll() { Object.keys(state).forEach(load); }
  map.on('moveend', loadAll);
  loadAll();

  /* ---- search without diacritics ---- */
  var box = document.getElementById('search');
  var results = document.getElementById('search-results');
  var highlight = L.layerGroup().addTo(map);
  var timer = null, last = [];
  function describe(h) {
    if (h.kind === 'commune') { return esc(h.name) + ' <small>(' + esc(T.commune2025) + ')</small>'; }
    return esc(h.name) + ' <small>(' + esc(T.former) + (h.detail ? ', ' + esc(h.detail) : '') + ')</small> → ' +
      esc(T.went_into) + ' <b>' + esc(h.new_commune) + '</b>';
  }
  function choose(h) {
    highlight.clearLayers();
    if (h.bbox) {
      var bounds = L.latLngBounds([h.bbox[1], h.bbox[0]], [h.bbox[3], h.bbox[2]]);
      map.fitBounds(bounds, {maxZoom: 12});
      L.rectangle(bounds, {color: '#d7301f', weight: 2, fill: false, dashArray: '6 4', interactive: false}).addTo(highlight);
    }
    document.body.setAttribute('data-selected', h.new_commune);
  }
  function show(hits) {
    last = hits;
    results.innerHTML = hits.length ? '' : '<li class="none">' + esc(T.none) + '</li>';
    hits.forEach(function (h) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '#'; a.innerHTML = describe(h); a.className = 'hit hit-' + h.kind;
      a.addEventListener('click', function (ev) { ev.preventDefault(); choose(h); });
      li.appendChild(a); results.appendChild(li);
    });
  }
  box.addEventListener('input', function () {
    clearTimeout(timer);
    var q = box.value.trim();
    if (!q) { results.innerHTML = ''; return; }
    timer = setTimeout(function () {
      fetch('/api/search?q=' + encodeURIComponent(q)).then(function (r) { return r.json(); })
        .then(function (d) { if (box.value.trim() === q) { show(d.results || []); } });
    }, 150);
  });
  document.getElementById('search-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (last.length) { choose(last[0]); }
  });
  window.geoAppMap = map;
})();

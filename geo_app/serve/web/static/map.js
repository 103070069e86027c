/* Lào Cai web map: layers loaded per view and simplified per zoom, legend, toggles, search.
   No external scripts: Leaflet is served by this application. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('map-config').textContent);
  var el = document.getElementById('map');
  var lang = el.getAttribute('data-lang') || 'vi';
  var T = JSON.parse(el.getAttribute('data-i18n'));
  var map = L.map(el, {zoomControl: true});
  initialView(map, cfg.view);
  L.control.scale({imperial: false}).addTo(map);
  phoneLayout(map);

  function esc(v) {
    return (v === null || v === undefined) ? '' : String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;')
      .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function title(t) { return (t && (t[lang] || t.vi)) || ''; }

  /* ---- basemap: OpenStreetMap online, or none (offline: no external request at all) ---- */
  var osm = cfg.basemap ? L.tileLayer(cfg.basemap, {maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'}) : null;
  if (!osm) { document.querySelectorAll('.online-only').forEach(function (n) { n.style.display = 'none'; }); }
  basemapWithFallback(map, osm, cfg.basemap);

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
  loadAll();  /* the first view is final (initialView): each layer is fetched once for it */

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

  /* ==== first view, basemap fallback and phone layout (kept apart from the layers and popups) ==== */

  /* Straight to the province's bounds, without animation: an animated fitBounds after a first setView
     made every layer load twice (at the first zoom, then again at the fitted one). */
  function initialView(m, view) {
    if (view.bounds) { m.fitBounds(view.bounds, {animate: false}); } else { m.setView(view.center, view.zoom, {animate: false}); }
  }

  /* The online basemap only when its tiles load: one probe tile first; if it fails (offline, blocked),
     or a tile fails later, switch once to the offline base (the application's own layers) and say so,
     instead of a grey background and one failed request and console error per tile. */
  function basemapWithFallback(m, tiles, template) {
    var radios = document.querySelectorAll('input[name=basemap]');
    var note = document.getElementById('basemap-note');
    var fellBack = false;
    if (note) {
      var holder = L.control({position: 'bottomright'});
      holder.onAdd = function () { L.DomEvent.disableClickPropagation(note); return note; };
      holder.addTo(m);
    }
    function show(kind) {
      if (tiles && kind === 'osm') { tiles.addTo(m); } else if (tiles) { m.removeLayer(tiles); }
      if (!tiles) { kind = 'none'; }
      radios.forEach(function (r) { r.checked = (r.value === kind); });
      document.body.setAttribute('data-basemap', kind);
    }
    function fallBack() {
      if (fellBack) { return; }
      fellBack = true;
      show('none');
      if (note) { note.hidden = false; }
      document.body.setAttribute('data-basemap-fallback', 'true');
      m.fire('controlschange');
    }
    function probe(done) {
      var z = Math.max(0, Math.min(19, Math.round(m.getZoom())));
      var t = m.project(m.getCenter(), z).divideBy(256).floor();
      var img = new Image(), settled = false;
      function finish(ok) {
        if (settled) { return; }
        settled = true; clearTimeout(timer); img.onload = img.onerror = null; done(ok);
      }
      var timer = setTimeout(function () { finish(false); }, 10000);
      img.onload = function () { finish(true); };
      img.onerror = function () { finish(false); };
      img.referrerPolicy = 'strict-origin-when-cross-origin';
      try {
        img.src = L.Util.template(template, {s: 'a', z: z, x: t.x, y: t.y, r: ''});
      } catch (e) { finish(true); }  /* a template with keys of its own: let Leaflet's layer try */
    }
    function choose(kind) {
      if (kind === 'osm' && tiles) {
        fellBack = false;
        if (note) { note.hidden = true; }
        document.body.setAttribute('data-basemap', 'probing');
        probe(function (ok) { if (ok) { show('osm'); } else { fallBack(); } });
      } else { show('none'); }
    }
    if (tiles) { tiles.on('tileerror', fallBack); }
    radios.forEach(function (r) {
      r.addEventListener('change', function () {
        choose(r.value);
        try { localStorage.setItem('basemap', r.value); } catch (e) { /* private mode */ }
      });
    });
    var saved = null;
    try { saved = localStorage.getItem('basemap'); } catch (e) { /* ignore */ }
    choose(saved || (tiles ? 'osm' : 'none'));
  }

  /* Phones: the panel is a drawer over the map, closed at first (the map keeps the screen), opened by
     a button; popups are kept clear of the map's controls (zoom, scale, attribution, the button). */
  function phoneLayout(m) {
    var panel = document.getElementById('panel');
    var button = document.getElementById('panel-toggle');
    if (button && panel) {
      var setOpen = function (open) {
        panel.classList.toggle('open', open);
        button.setAttribute('aria-expanded', String(open));
        document.body.setAttribute('data-panel', open ? 'open' : 'closed');
      };
      setOpen(false);
      button.addEventListener('click', function () { setOpen(!panel.classList.contains('open')); });
      /* a chosen search result shows the map again */
      var hits = document.getElementById('search-results');
      if (hits) { hits.addEventListener('click', function (ev) { if (ev.target.closest('a')) { setOpen(false); } }); }
    }
    function clearOfControls() {
      var box = m.getContainer().getBoundingClientRect();
      var top = 10, left = 10, bottom = 10, right = 10;
      m.getContainer().querySelectorAll('.leaflet-control').forEach(function (c) {
        var r = c.getBoundingClientRect();
        if (!r.width) { return; }
        var corner = c.parentNode.className;
        if (/leaflet-top/.test(corner) && /leaflet-left/.test(corner)) { left = Math.max(left, r.right - box.left + 8); }
        if (/leaflet-top/.test(corner) && /leaflet-right/.test(corner)) { top = Math.max(top, r.bottom - box.top + 8); }
        if (/leaflet-bottom/.test(corner)) { bottom = Math.max(bottom, box.bottom - r.top + 8); }
      });
      if (button && button.offsetParent) {
        var b = button.getBoundingClientRect();
        top = Math.max(top, b.bottom - box.top + 8);
      }
      L.Popup.mergeOptions({
        autoPanPaddingTopLeft: L.point(left, top), autoPanPaddingBottomRight: L.point(right, bottom),
        maxWidth: Math.max(160, Math.min(320, box.width - left - right - 20)),
        maxHeight: Math.max(120, box.height - top - bottom - 40)
      });
    }
    clearOfControls();
    m.on('resize controlschange', clearOfControls);
    m.on('popupopen', function () { document.body.setAttribute('data-popup', 'open'); });
  }
})();

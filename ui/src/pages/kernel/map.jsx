// 社会治理一张图: the territory tree on a map, drawn from wuzhi's own polygons (a tile
// source is added when the deployment configures one), coloured by open cases, with
// drill-down district → township → village → grid.
import { useEffect, useRef, useState } from "preact/hooks";
import L from "../../leaflet_global.js";
import "leaflet.markercluster";
import "leaflet/dist/leaflet.css";
import "leaflet.markercluster/dist/MarkerCluster.css";
import "leaflet.markercluster/dist/MarkerCluster.Default.css";
import { api, listen, debounce } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

// What administrators and residents typed (territory names, case subjects) reaches Leaflet
// as text nodes, never as HTML: Leaflet renders a string it is given as markup.
const asText = (s) => {
  const el = document.createElement("span");
  el.textContent = s;
  return el;
};
const caseLink = (c) => {
  const el = document.createElement("span");
  const a = document.createElement("a");
  a.href = `#/cases/${c.id}`;
  a.textContent = `#${c.id}`;
  el.append(a, ` ${c.subject} · ${t(`status.${c.status}`)}`);
  return el;
};

const MEASURES = ["open", "overdue", "warnings", "closing_rate", "on_time_closing_rate", "satisfaction_rate"];
// The warnings layer: each territory by the highest level of its open warnings.
const LEVEL_FILL = { red: "#b42318", orange: "#e8590c", yellow: "#f5c518", blue: "#1c64f2" };

const STATUSES = ["reported", "filed", "dispatched", "handling", "handled", "closed"];
const CHANNELS = ["app", "hotline", "grid", "sensor", "open311"];

/// The side panel of a grid: who is on duty, its open cases, its indicators.
function GridPanel({ grid, onClose }) {
  const [duty, setDuty] = useState(null);
  const [cases, setCases] = useState(null);
  const [kpi, setKpi] = useState(null);
  const [roster, setRoster] = useState(null);
  useEffect(() => {
    api("GET", `/api/territories/${grid.code}/duty`).then(setDuty, () => setDuty([]));
    api("GET", `/api/gridwork/roster/${grid.code}`).then(setRoster, () => setRoster(null));
    api("GET", `/api/cases?territory=${grid.code}&limit=50`).then((cs) => setCases(cs.filter((c) => !["closed", "rejected", "merged"].includes(c.status))), () => setCases([]));
    api("GET", `/api/kpi?territory=${grid.code}`).then(setKpi, () => {});
  }, [grid.code]);
  return (
    <aside class="card grid-panel" aria-label={grid.name} data-testid="grid-panel">
      <h3>{grid.name} <button type="button" class="quiet" onClick={onClose}>{t("map.close")}</button></h3>
      <h4>{t("map.duty")}</h4>
      {duty && (duty.length === 0 ? <p class="muted">—</p> : (
        <ul>{duty.map((d, i) => <li key={i}>{d.name} · {t(`role.${d.role}`)} · {d.post}</li>)}</ul>
      ))}
      {roster && (
        <>
          <h4>{t("map.roster")}</h4>
          {roster.on_duty_now.length === 0 ? (
            <p class="muted" data-testid="roster-now">{t("map.nobody_on_duty")}</p>
          ) : (
            <ul data-testid="roster-now">
              {roster.on_duty_now.map((d) => (
                <li key={d.id}>{d.name} · {t("map.on_duty_until", { at: new Date(d.ends_ms).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" }) })} {d.note}</li>
              ))}
            </ul>
          )}
          {roster.members.length > 0 && (
            <p class="muted">{roster.members.map((m) => `${m.name}（${t(`gw.member.${m.kind}`)}${m.team ? ` · ${m.team}` : ""}）`).join("、")}</p>
          )}
        </>
      )}
      <h4>{t("map.open_cases")}</h4>
      {cases && (cases.length === 0 ? <p class="muted">—</p> : (
        <ul>{cases.map((c) => <li key={c.id}><a href={`#/cases/${c.id}`}>#{c.id} {c.subject}</a> <span class={`badge s-${c.status}`}>{t(`status.${c.status}`)}</span></li>)}</ul>
      ))}
      {kpi && (
        <p>{t("kpi.filed")} {kpi.indicators.filed} · {t("kpi.closed")} {kpi.indicators.closed} · {t("kpi.closing_rate")} {kpi.indicators.closing_rate === null ? "—" : `${(kpi.indicators.closing_rate * 100).toFixed(1)}%`}</p>
      )}
    </aside>
  );
}

const SHADES = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

function shade(n, max) {
  if (!n) return "#f0f3f5";
  return SHADES[Math.min(SHADES.length - 1, Math.floor((n / Math.max(1, max)) * SHADES.length))];
}

/// The archives' layers (楼栋, 城市部件) as markers whose popups are text; a building links
/// to its page.
function archiveMarkers(kind, features) {
  const group = L.layerGroup();
  for (const f of features) {
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties;
    if (kind === "buildings") {
      const color = p.open_cases > 0 ? "#b42318" : p.care_tagged > 0 ? "#b54708" : "#475467";
      L.circleMarker([lat, lon], { radius: 5, color, weight: 2, fillOpacity: 0.3, className: "archive-building" })
        .bindPopup(() => {
          const el = document.createElement("span");
          const a = document.createElement("a");
          a.href = `#/archives/buildings/${p.id}`;
          a.textContent = t("map.building_popup", { address: p.address, cared: p.care_tagged, open: p.open_cases });
          el.append(a);
          return el;
        })
        .addTo(group);
    } else {
      L.circleMarker([lat, lon], { radius: 4, color: p.state === "normal" ? "#027a48" : "#b42318", weight: 2, fillOpacity: 0.9, className: "archive-component" })
        .bindPopup(() => asText(t("map.component_popup", { name: p.name, code: p.code, state: t(`component.${p.state}`), owner: p.owner || "—" })))
        .addTo(group);
    }
  }
  return group;
}

export function OneMap({ me, archives }) {
  const top = me.grants.map((g) => g.scope).sort((a, b) => a.length - b.length)[0];
  const [trail, setTrail] = useState([{ code: top, name: top }]);
  const [children, setChildren] = useState([]);
  const [open, setOpen] = useState({});
  const [late, setLate] = useState({});
  const [error, setError] = useState(null);
  const [grid, setGrid] = useState(null);
  const [filters, setFilters] = useState({ status: "", category: "", channel: "", from: "", to: "" });
  const [markers, setMarkers] = useState([]);
  const [tick, setTick] = useState(0);
  const [measure, setMeasure] = useState("open");
  const [rates, setRates] = useState({});
  const [warned, setWarned] = useState({});
  const [layers, setLayers] = useState({ buildings: false, components: false });
  const el = useRef(null);
  const map = useRef(null);
  const here = trail[trail.length - 1];
  useEffect(() => {
    const m = L.map(el.current, { attributionControl: false, zoomSnap: 0.25, maxZoom: 19 });
    const tiles = document.getElementById("app").dataset.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(m);
    m.setView([39.12, 117.2], 9);
    map.current = m;
    const counts = () => {
      api("GET", "/api/kpi/open-per-grid").then((rows) => setOpen(Object.fromEntries(rows.map((r) => [r.code, r.open]))), () => {});
      api("GET", "/api/kpi/open-per-grid?overdue=true").then((rows) => setLate(Object.fromEntries(rows.map((r) => [r.code, r.open]))), () => {});
    };
    counts();
    const stop = listen(debounce(() => {
      counts();
      setTick((n) => n + 1);
    }, 300));
    api("GET", `/api/map/outline/${top}`).then((o) => setTrail([{ code: o.code, name: o.name }]), () => {});
    return () => {
      stop();
      m.remove();
    };
  }, []);
  useEffect(() => {
    // An answer for a level the viewer has already left is dropped.
    let current = true;
    api("GET", `/api/territories?parent=${here.code}&geometry=true&limit=1000`).then(
      (page) => current && setChildren(page.items),
      (e) => current && setError(e.message),
    );
    return () => {
      current = false;
    };
  }, [here.code]);
  useEffect(() => {
    const q = new URLSearchParams({ territory: here.code, limit: "1000" });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    let current = true;
    api("GET", `/api/cases?${q}`).then((cs) => current && setMarkers(cs.filter((c) => c.lon !== null)), () => {});
    return () => {
      current = false;
    };
  }, [here.code, filters, tick]);
  useEffect(() => {
    if (!map.current) return;
    const group = L.markerClusterGroup({ showCoverageOnHover: false });
    for (const c of markers) {
      L.circleMarker([c.lat, c.lon], { radius: 6, color: c.overdue ? "#7f1d1d" : "#1f6feb", fillOpacity: 0.8 })
        .bindPopup(() => caseLink(c))
        .addTo(group);
    }
    group.addTo(map.current);
    return () => group.remove();
  }, [markers]);
  useEffect(() => {
    if (measure !== "warnings") return setWarned({});
    let current = true;
    api("GET", `/api/warnings/layer?under=${here.code}`).then(
      (cells) => current && setWarned(Object.fromEntries(cells.map((c) => [c.code, c]))),
      () => current && setWarned({}),
    );
    return () => {
      current = false;
    };
  }, [measure, here.code, tick]);
  useEffect(() => {
    const below = children[0]?.level;
    if (measure === "open" || measure === "overdue" || measure === "warnings" || !below) return setRates({});
    let current = true;
    api("GET", `/api/kpi/ranking?by=${below}&territory=${here.code}&sort=${measure}`).then(
      (rows) => current && setRates(Object.fromEntries(rows.map((r) => [r.key, r.indicators[measure]]))),
      () => current && setRates({}),
    );
    return () => {
      current = false;
    };
  }, [measure, children, tick]);
  useEffect(() => {
    if (!map.current) return;
    const shown = [];
    let current = true;
    for (const kind of ["buildings", "components"]) {
      if (!layers[kind]) continue;
      api("GET", `/api/archives/layers/${kind}`).then((fc) => {
        if (!current) return;
        const g = archiveMarkers(kind, fc.features).addTo(map.current);
        shown.push(g);
      }, (e) => setError(e.message));
    }
    return () => {
      current = false;
      shown.forEach((g) => g.remove());
    };
  }, [layers, tick]);
  const sum = (per) => children.map((c) => Object.entries(per).reduce((s, [g, n]) => (g.startsWith(c.code) ? s + n : s), 0));
  const opens = sum(measure === "overdue" ? late : open);
  // The chosen measure per child: open cases, or an indicator as a percentage.
  const counted = measure === "open" || measure === "overdue" || measure === "warnings";
  const counts = measure === "warnings" ? children.map((c) => warned[c.code]?.open ?? 0) : counted ? opens : children.map((c) => (rates[c.code] === null || rates[c.code] === undefined ? null : Math.round(rates[c.code] * 1000) / 10));
  const max = counted ? Math.max(0, ...opens) : 100;
  useEffect(() => {
    if (!map.current || children.length === 0) return;
    const layer = L.geoJSON(
      { type: "FeatureCollection", features: children.filter((c) => c.geometry).map((c, i) => ({ type: "Feature", properties: { c, n: counts[i] }, geometry: c.geometry })) },
      {
        style: (f) => ({
          color: "#7a3b00",
          weight: 1,
          fillColor: measure === "warnings" ? LEVEL_FILL[warned[f.properties.c.code]?.level] || "#f0f3f5" : shade(f.properties.n, max),
          fillOpacity: measure === "warnings" ? 0.6 : 0.75,
        }),
        onEachFeature: (f, l) => {
          const w = warned[f.properties.c.code];
          l.bindTooltip(asText(measure === "warnings"
            ? t("map.warnings_popup", { name: f.properties.c.name, open: w?.open ?? 0, red: w?.red ?? 0, orange: w?.orange ?? 0 })
            : `${f.properties.c.name}: ${f.properties.n ?? "—"}${counted ? "" : "%"}`));
          const c = f.properties.c;
          l.on("click", () => (c.level === "grid" ? setGrid(c) : setTrail((tr) => [...tr, { code: c.code, name: c.name }])));
        },
      },
    ).addTo(map.current);
    map.current.invalidateSize();
    if (layer.getBounds().isValid()) map.current.fitBounds(layer.getBounds(), { padding: [8, 8] });
    return () => layer.remove();
  }, [children, open, late, rates, measure, warned]);
  return (
    <section class="card">
      <h2>{t("map.title")}</h2>
      <nav aria-label={t("map.trail")} class="trail">
        {trail.map((s, i) => (
          <span key={s.code}>
            {i > 0 && " › "}
            {i < trail.length - 1 ? (
              <button type="button" class="link" onClick={() => setTrail(trail.slice(0, i + 1))}>{s.name}</button>
            ) : (
              <strong data-testid="map-here">{s.name}</strong>
            )}
          </span>
        ))}
      </nav>
      <form class="map-filters" aria-label={t("map.filters")} onSubmit={(e) => e.preventDefault()}>
        <label>{t("map.measure")}
          <select value={measure} onChange={(e) => setMeasure(e.target.value)}>
            {MEASURES.map((m) => <option value={m} key={m}>{t(m === "open" || m === "overdue" || m === "warnings" ? `map.col.${m}` : `kpi.${m}`)}</option>)}
          </select>
        </label>
        <label>{t("cases.col.status")}
          <select value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value })}>
            <option value="">{t("filter.all")}</option>
            {STATUSES.map((s) => <option value={s} key={s}>{t(`status.${s}`)}</option>)}
          </select>
        </label>
        <label>{t("cases.col.category")}
          <input value={filters.category} placeholder="E01" onChange={(e) => setFilters({ ...filters, category: e.target.value.trim() })} />
        </label>
        <label>{t("map.channel")}
          <select value={filters.channel} onChange={(e) => setFilters({ ...filters, channel: e.target.value })}>
            <option value="">{t("filter.all")}</option>
            {CHANNELS.map((c) => <option value={c} key={c}>{t(`channel.${c}`)}</option>)}
          </select>
        </label>
        <label>{t("map.from")}<input type="date" value={filters.from} onChange={(e) => setFilters({ ...filters, from: e.target.value })} /></label>
        <label>{t("map.to")}<input type="date" value={filters.to} onChange={(e) => setFilters({ ...filters, to: e.target.value })} /></label>
        {archives && (
          <fieldset>
            <legend>{t("map.layers")}</legend>
            {["buildings", "components"].map((k) => (
              <label class="inline" key={k}>
                <input type="checkbox" checked={layers[k]} onChange={(e) => setLayers({ ...layers, [k]: e.target.checked })} /> {t(`map.layer.${k}`)}
              </label>
            ))}
          </fieldset>
        )}
      </form>
      <p class="muted" role="status" data-testid="marker-count">{t("map.markers", { n: markers.length })}</p>
      <div ref={el} class="map big" role="application" aria-label={t("map.title")} data-testid="onemap"></div>
      {grid && <GridPanel grid={grid} onClose={() => setGrid(null)} />}
      {error && <p class="error" role="alert">{error}</p>}
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("map.table")}>
        <table>
          <caption class="muted">{t("map.legend")}</caption>
          <thead><tr><th scope="col">{t("map.col.name")}</th><th scope="col">{t(counted ? `map.col.${measure}` : `kpi.${measure}`)}</th></tr></thead>
          <tbody>
            {children.map((c, i) => (
              <tr key={c.code}>
                <td>
                  {c.level === "grid" ? (
                    <button type="button" class="link" onClick={() => setGrid(c)}>{c.name}</button>
                  ) : (
                    <button type="button" class="link" onClick={() => setTrail([...trail, { code: c.code, name: c.name }])}>{c.name}</button>
                  )}
                </td>
                <td>
                  {measure === "warnings" ? (
                    <a href={`#/warnings?territory=${c.code}`} data-testid={`warned-${c.code}`}>
                      {warned[c.code] ? <>{counts[i]} <span class={`badge lv-${warned[c.code].level}`}>{t(`warn.level.${warned[c.code].level}`)}</span></> : 0}
                    </a>
                  ) : counts[i] === null ? "—" : counted ? counts[i] : `${counts[i]}%`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

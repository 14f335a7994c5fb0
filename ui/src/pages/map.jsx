// 社会治理一张图: the territory tree on a map, drawn from wuzhi's own polygons (a tile
// source is added when the deployment configures one), coloured by open cases, with
// drill-down district → township → village → grid.
import { useEffect, useRef, useState } from "preact/hooks";
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { api, listen, debounce } from "../api.js";
import { t } from "../i18n.js";

const SHADES = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

function shade(n, max) {
  if (!n) return "#f0f3f5";
  return SHADES[Math.min(SHADES.length - 1, Math.floor((n / Math.max(1, max)) * SHADES.length))];
}

export function OneMap({ me }) {
  const top = me.grants.map((g) => g.scope).sort((a, b) => a.length - b.length)[0];
  const [trail, setTrail] = useState([{ code: top, name: top }]);
  const [children, setChildren] = useState([]);
  const [open, setOpen] = useState({});
  const [error, setError] = useState(null);
  const el = useRef(null);
  const map = useRef(null);
  const here = trail[trail.length - 1];
  useEffect(() => {
    const m = L.map(el.current, { attributionControl: false, zoomSnap: 0.25 });
    const tiles = document.getElementById("app").dataset.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(m);
    m.setView([39.12, 117.2], 9);
    map.current = m;
    const counts = () =>
      api("GET", "/api/kpi/open-per-grid").then(
        (rows) => setOpen(Object.fromEntries(rows.map((r) => [r.code, r.open]))),
        () => {},
      );
    counts();
    const stop = listen(debounce(counts, 300));
    api("GET", `/api/map/outline/${top}`).then((o) => setTrail([{ code: o.code, name: o.name }]), () => {});
    return () => {
      stop();
      m.remove();
    };
  }, []);
  useEffect(() => {
    api("GET", `/api/territories?parent=${here.code}&geometry=true&limit=1000`).then(
      (page) => setChildren(page.items),
      (e) => setError(e.message),
    );
  }, [here.code]);
  const counts = children.map((c) => Object.entries(open).reduce((s, [g, n]) => (g.startsWith(c.code) ? s + n : s), 0));
  const max = Math.max(0, ...counts);
  useEffect(() => {
    if (!map.current || children.length === 0) return;
    const layer = L.geoJSON(
      { type: "FeatureCollection", features: children.filter((c) => c.geometry).map((c, i) => ({ type: "Feature", properties: { c, n: counts[i] }, geometry: c.geometry })) },
      {
        style: (f) => ({ color: "#7a3b00", weight: 1, fillColor: shade(f.properties.n, max), fillOpacity: 0.75 }),
        onEachFeature: (f, l) => {
          l.bindTooltip(`${f.properties.c.name}: ${f.properties.n}`);
          if (f.properties.c.level !== "grid") l.on("click", () => setTrail((tr) => [...tr, { code: f.properties.c.code, name: f.properties.c.name }]));
        },
      },
    ).addTo(map.current);
    map.current.invalidateSize();
    if (layer.getBounds().isValid()) map.current.fitBounds(layer.getBounds(), { padding: [8, 8] });
    return () => layer.remove();
  }, [children, open]);
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
      <div ref={el} class="map big" role="application" aria-label={t("map.title")} data-testid="onemap"></div>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("map.table")}>
        <table>
          <caption class="muted">{t("map.legend")}</caption>
          <thead><tr><th scope="col">{t("map.col.name")}</th><th scope="col">{t("map.col.open")}</th></tr></thead>
          <tbody>
            {children.map((c, i) => (
              <tr key={c.code}>
                <td>
                  {c.level === "grid" ? c.name : (
                    <button type="button" class="link" onClick={() => setTrail([...trail, { code: c.code, name: c.name }])}>{c.name}</button>
                  )}
                </td>
                <td>{counts[i]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

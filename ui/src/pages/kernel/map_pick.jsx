// A map for picking a place, drawn from wuzhi's own territory polygons (no internet base
// map is needed; a deployment's tile source is added when configured).
import { useEffect, useRef } from "preact/hooks";
import L from "leaflet";
import "leaflet/dist/leaflet.css";

export function MapPick({ outline, point, onPick, label }) {
  const el = useRef(null);
  const map = useRef(null);
  const marker = useRef(null);
  useEffect(() => {
    const m = L.map(el.current, { attributionControl: false, zoomSnap: 0.25, maxZoom: 19 });
    map.current = m;
    const tiles = document.getElementById("app").dataset.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(m);
    m.on("click", (e) => onPick(Number(e.latlng.lng.toFixed(7)), Number(e.latlng.lat.toFixed(7))));
    m.setView([39.12, 117.2], 12);
    return () => m.remove();
  }, []);
  useEffect(() => {
    if (!outline || !map.current) return;
    const layer = L.geoJSON(outline, { style: { color: "#b3261e", weight: 2, fillOpacity: 0.06 } }).addTo(map.current);
    map.current.fitBounds(layer.getBounds(), { padding: [12, 12] });
    return () => layer.remove();
  }, [outline]);
  useEffect(() => {
    if (!map.current) return;
    if (marker.current) marker.current.remove();
    if (point) marker.current = L.circleMarker([point.lat, point.lon], { radius: 8, color: "#1f6feb", fillOpacity: 0.8 }).addTo(map.current);
  }, [point]);
  return <div ref={el} class="map" role="application" aria-label={label} data-testid="map"></div>;
}

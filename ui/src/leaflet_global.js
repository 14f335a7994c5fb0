// leaflet.markercluster extends the global `L`; this module, imported first, provides it.
import L from "leaflet";
window.L = L;
export default L;

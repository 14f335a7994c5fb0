// A list of cases: "my cases" for a resident, the queues of the workbench for staff
// (what the server lets each person see), filtered by status.
import { useEffect, useState } from "preact/hooks";
import { api, listen, debounce, followJob } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

/// The loaded cases whose subject, description or address holds every word typed.
const shown = (cases, words) => {
  const ws = words.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return cases.filter((c) => ws.every((w) => `${c.subject} ${c.description} ${c.address || ""}`.toLowerCase().includes(w)));
};

const FILTERS = ["", "reported", "filed", "dispatched", "handling", "handled", "closed", "overdue"];

export function Cases({ title, staff }) {
  const [picked, setPicked] = useState([]);
  const [done, setDone] = useState(null);
  const [filter, setFilter] = useState("");
  const [category, setCategory] = useState("");
  const [words, setWords] = useState("");
  const [cases, setCases] = useState(null);
  const [error, setError] = useState(null);
  const params = new URLSearchParams();
  if (filter === "overdue") params.set("overdue", "true");
  else if (filter) params.set("status", filter);
  if (/^[A-Za-z0-9]+$/.test(category)) params.set("category", category);
  const q = params.toString() ? `?${params}` : "";
  const reload = () => api("GET", `/api/cases${q}`).then(setCases, (e) => setError(e.message));
  useEffect(() => {
    setPicked([]);
    reload();
    return listen(debounce(reload, 300));
  }, [filter, category]);
  async function bulk(action) {
    let ok = 0;
    const failed = [];
    for (const id of picked) {
      try {
        await api("POST", `/api/cases/${id}/actions`, { action });
        ok += 1;
      } catch (e) {
        failed.push(`#${id}: ${e.message}`);
      }
    }
    setDone(t("bulk.done", { ok, failed: failed.length }) + (failed.length ? ` ${failed.join("; ")}` : ""));
    setPicked([]);
    reload();
  }
  const toggle = (id) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  // Exports run as background jobs on the server (a city's queue can hold a million cases):
  // follow the job, then offer its file.
  const [exported, setExported] = useState(null);
  const exportAs = async (format) => {
    setExported({ progress: 0 });
    try {
      const body = { format, status: filter && filter !== "overdue" ? filter : null, overdue: filter === "overdue" ? true : null, category: params.get("category") };
      const job = await followJob(await api("POST", "/api/cases/exports", body), (j) => setExported({ progress: j.progress }));
      setExported({ file: job.result });
    } catch (e) {
      setExported({ error: e.field ? `${e.field}: ${e.message}` : e.message });
    }
  };
  return (
    <section class="card">
      <h2>{title}</h2>
      <div role="group" aria-label={t("cases.filter")} class="filters">
        {FILTERS.map((f) => (
          <button key={f} type="button" class={f === filter ? "" : "quiet"} aria-pressed={f === filter} onClick={() => setFilter(f)}>
            {f === "" ? t("filter.all") : f === "overdue" ? t("filter.overdue") : t(`status.${f}`)}
          </button>
        ))}
      </div>
      {staff && (
        <p class="bulk">
          <button type="button" disabled={picked.length === 0} onClick={() => bulk("file")}>{t("bulk.file", { n: picked.length })}</button>{" "}
          <button type="button" disabled={picked.length === 0} onClick={() => bulk("dispatch")}>{t("bulk.dispatch", { n: picked.length })}</button>{" "}
          <span role="group" aria-label={t("export.title")}>
            {[["xlsx", t("export.xlsx")], ["csv", t("export.csv")], ["geojson", t("export.geojson")]].map(([f, label]) => (
              <button key={f} type="button" class="quiet" disabled={exported && exported.progress !== undefined} onClick={() => exportAs(f)}>{label}</button>
            ))}
          </span>
        </p>
      )}
      {exported?.progress !== undefined && <p role="status" data-testid="export-progress">{t("export.running", { p: Math.round(exported.progress * 100) })}</p>}
      {exported?.file && (
        <p role="status" data-testid="export-done">
          {t("export.done", { n: exported.file.rows })} <a href={exported.file.url} download={exported.file.file_name}>{t("export.download", { name: exported.file.file_name })}</a>
        </p>
      )}
      {exported?.error && <p class="error" role="alert">{exported.error}</p>}
      {done && <p role="status" data-testid="bulk-done">{done}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      <p class="search">
        <label>{t("cases.col.category")} <input value={category} placeholder="E01" onInput={(e) => setCategory(e.target.value.trim())} /></label>{" "}
        <label>{t("cases.search")} <input type="search" value={words} onInput={(e) => setWords(e.target.value)} /></label>
      </p>
      {cases && shown(cases, words).length === 0 && <p class="muted">{t("cases.empty")}</p>}
      {cases && shown(cases, words).length > 0 && (
        <ul class="case-list">
          {shown(cases, words).map((c) => (
            <li key={c.id}>
              {staff && (
                <input type="checkbox" aria-label={t("bulk.pick", { id: c.id })} checked={picked.includes(c.id)} onChange={() => toggle(c.id)} />
              )}{" "}
              <a href={`#/cases/${c.id}`}>
                <strong>#{c.id} {c.subject}</strong>
              </a>
              <span class={`badge s-${c.status}`}>{t(`status.${c.status}`)}</span>
              {c.overdue && <span class="badge s-overdue">{t("case.overdue")}</span>}
              <br />
              <span class="muted">
                {formatTime(c.created_at_ms)}
                {c.due_at_ms && ` · ${t("cases.col.due")} ${formatTime(c.due_at_ms)}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

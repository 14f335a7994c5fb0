// A list of cases: "my cases" for a resident, the queues of the workbench for staff
// (what the server lets each person see), filtered by status.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { t, formatTime } from "../i18n.js";

const FILTERS = ["", "reported", "filed", "dispatched", "handling", "handled", "closed", "overdue"];

export function Cases({ title }) {
  const [filter, setFilter] = useState("");
  const [cases, setCases] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const q = filter === "overdue" ? "?overdue=true" : filter ? `?status=${filter}` : "";
    api("GET", `/api/cases${q}`).then(setCases, (e) => setError(e.message));
  }, [filter]);
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
      {error && <p class="error" role="alert">{error}</p>}
      {cases && cases.length === 0 && <p class="muted">{t("cases.empty")}</p>}
      {cases && cases.length > 0 && (
        <ul class="case-list">
          {cases.map((c) => (
            <li key={c.id}>
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

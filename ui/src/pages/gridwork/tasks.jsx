// Key tasks to the last mile (重点工作): a street, district or city sends a checklist with a
// deadline to every community or grid below; each fills it in item by item; the progress
// rolls up at every level, by territory, never by person.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

/// One share: its checklist, answered item by item, then completed.
function Share({ share, onChanged }) {
  const [error, setError] = useState(null);
  async function step(body) {
    setError(null);
    try {
      onChanged(await api("POST", `/api/gridwork/shares/${share.id}/actions`, { version: share.version, ...body }));
    } catch (e) {
      setError(e.message);
    }
  }
  const can = (a) => share.actions.includes(a);
  return (
    <li data-testid={`share-${share.territory_code}`}>
      <strong>{share.task_title}</strong> · {share.territory_name || share.territory_code}{" "}
      <span class={`badge ${share.status === "done" ? "s-closed" : share.overdue ? "s-overdue" : ""}`}>
        {t(`task.status.${share.status}`)}
        {share.overdue ? ` · ${t("task.overdue")}` : ""}
      </span>
      <br />
      <span class="muted">{t("task.deadline", { at: formatTime(share.deadline_ms) })}</span>
      <ol>
        {share.items.map((it) => (
          <li key={it.index}>
            {it.name}{" "}
            <span class={`badge ${it.state === "pending" ? "" : "s-closed"}`}>{t(`task.item.${it.state}`)}</span>
            {it.found > 0 && <> · {t("task.found_n", { n: it.found })}</>}
            {it.note && <span class="muted"> · {it.note}</span>}
            {can("progress") && (
              <form
                class="search"
                aria-label={t("task.answer", { item: it.name })}
                onSubmit={(e) => {
                  e.preventDefault();
                  const f = new FormData(e.target);
                  step({
                    action: "progress",
                    item: it.index,
                    state: f.get("state"),
                    found: Number(f.get("found") || 0),
                    note: f.get("note") || "",
                  });
                }}
              >
                <select name="state" aria-label={t("task.state")}>
                  <option value="checked">{t("task.item.checked")}</option>
                  <option value="not_applicable">{t("task.item.not_applicable")}</option>
                </select>
                <input name="found" type="number" min="0" max="10000" aria-label={t("task.found")} placeholder={t("task.found")} />
                <input name="note" aria-label={t("task.note")} placeholder={t("task.note")} />
                <button type="submit" class="quiet">
                  {t("task.save_item")}
                </button>
              </form>
            )}
          </li>
        ))}
      </ol>
      {can("complete") && (
        <button type="button" onClick={() => step({ action: "complete" })}>
          {t("task.complete")}
        </button>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </li>
  );
}

/// A task's roll-up at a level, each territory below it a row; a row opens the level below.
function Rollup({ task, changed }) {
  const [under, setUnder] = useState(null);
  const [r, setR] = useState(null);
  const [trail, setTrail] = useState([]);
  useEffect(() => {
    const q = under ? `?under=${under}` : "";
    api("GET", `/api/gridwork/tasks/${task.id}/rollup${q}`).then(setR, () => setR(null));
  }, [task.id, under, changed]);
  if (!r) return null;
  const line = (l) => (
    <>
      <td>{l.shares}</td>
      <td>{l.done}</td>
      <td>{pct(l.completion)}</td>
      <td>{l.overdue}</td>
      <td>{l.found}</td>
      <td>{l.cases}</td>
    </>
  );
  return (
    <div class="table-wrap">
      {trail.length > 0 && (
        <p class="trail">
          <button type="button" class="link" onClick={() => (setUnder(null), setTrail([]))}>
            {t("task.top")}
          </button>
          {trail.map((c, i) => (
            <span key={c.code}>
              {" › "}
              <button type="button" class="link" onClick={() => (setUnder(c.code), setTrail(trail.slice(0, i + 1)))}>
                {c.name}
              </button>
            </span>
          ))}
        </p>
      )}
      <table data-testid="rollup">
        <caption>{t("task.rollup", { name: r.total.territory_name || r.total.territory_code })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("task.territory")}</th>
            <th scope="col">{t("task.shares")}</th>
            <th scope="col">{t("task.done")}</th>
            <th scope="col">{t("task.completion")}</th>
            <th scope="col">{t("task.overdue")}</th>
            <th scope="col">{t("task.found")}</th>
            <th scope="col">{t("task.cases")}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">{t("task.total")}</th>
            {line(r.total)}
          </tr>
          {r.children.filter((c) => c.territory_code !== r.total.territory_code).map((c) => (
            <tr key={c.territory_code}>
              <th scope="row">
                {c.territory_code.length < 15 && c.territory_code !== r.total.territory_code ? (
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      setUnder(c.territory_code);
                      setTrail([...trail, { code: c.territory_code, name: c.territory_name || c.territory_code }]);
                    }}
                  >
                    {c.territory_name || c.territory_code}
                  </button>
                ) : (
                  c.territory_name || c.territory_code
                )}
              </th>
              {line(c)}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">{t("task.no_people")}</p>
    </div>
  );
}

function NewTask({ scopes, onMade }) {
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    const f = new FormData(e.target);
    const day = f.get("deadline");
    try {
      const made = await api("POST", "/api/gridwork/tasks", {
        title: f.get("title"),
        description: f.get("description"),
        checklist: f
          .get("checklist")
          .split("\n")
          .map((s) => s.trim())
          .filter(Boolean),
        territory_code: f.get("territory"),
        level: f.get("level"),
        // The end of the day in Beijing.
        deadline_ms: Date.parse(`${day}T23:59:59+08:00`),
      });
      e.target.reset();
      onMade(made);
    } catch (err) {
      setError(err.field ? `${t(`task.field.${err.field}`)}：${err.message}` : err.message);
    }
  }
  return (
    <details class="action">
      <summary>{t("task.new")}</summary>
      <form onSubmit={submit}>
        <label for="t-title">{t("task.title")}</label>
        <input id="t-title" name="title" required maxLength={100} />
        <label for="t-description">{t("task.description")}</label>
        <textarea id="t-description" name="description" rows={2} />
        <label for="t-checklist">{t("task.checklist")}</label>
        <textarea id="t-checklist" name="checklist" rows={4} required placeholder={t("task.checklist_hint")} />
        <label for="t-territory">{t("task.to")}</label>
        <select id="t-territory" name="territory">
          {scopes.map((s) => (
            <option key={s.code} value={s.code}>
              {s.name || s.code}
            </option>
          ))}
        </select>
        <label for="t-level">{t("task.level")}</label>
        <select id="t-level" name="level">
          <option value="grid">{t("task.level.grid")}</option>
          <option value="village">{t("task.level.village")}</option>
        </select>
        <label for="t-deadline">{t("task.deadline_day")}</label>
        <input id="t-deadline" name="deadline" type="date" required />
        <p>
          <button type="submit">{t("task.send")}</button>
        </p>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </details>
  );
}

export function Tasks({ me }) {
  const [mine, setMine] = useState(null);
  const [tasks, setTasks] = useState(null);
  const [names, setNames] = useState({});
  // Bumped when one of the caller's shares changes, so the roll-ups below show it.
  const [changed, setChanged] = useState(0);
  const senders = me.grants.filter((g) => ["street_commander", "district_leader", "city_leader"].includes(g.role));
  const load = () => {
    api("GET", "/api/gridwork/shares/mine").then(setMine, () => setMine([]));
    api("GET", "/api/gridwork/tasks").then(setTasks, () => setTasks([]));
  };
  useEffect(() => {
    load();
    for (const g of senders) {
      api("GET", `/api/map/outline/${g.scope}`).then((o) => setNames((n) => ({ ...n, [g.scope]: o.name })), () => {});
    }
  }, []);
  return (
    <>
      <section class="card">
        <h2>{t("task.page")}</h2>
        <p class="muted">{t("task.intro")}</p>
        {senders.length > 0 && (
          <NewTask scopes={senders.map((g) => ({ code: g.scope, name: names[g.scope] }))} onMade={() => load()} />
        )}
      </section>
      {mine && mine.length > 0 && (
        <section class="card" aria-labelledby="mine-title">
          <h2 id="mine-title">{t("task.mine")}</h2>
          <ul class="case-list">
            {mine.map((s) => (
              <Share key={s.id} share={s} onChanged={(n) => (setMine(mine.map((x) => (x.id === n.id ? n : x))), setChanged((c) => c + 1))} />
            ))}
          </ul>
        </section>
      )}
      {tasks &&
        tasks.map((task) => (
          <section class="card" key={task.id} aria-labelledby={`task-${task.id}`}>
            <h2 id={`task-${task.id}`}>{task.title}</h2>
            <p class="muted">
              {task.territory_name || task.territory_code} · {t("task.deadline", { at: formatTime(task.deadline_ms) })} ·{" "}
              {t("task.shares_n", { n: task.shares })}
            </p>
            {task.description && <p>{task.description}</p>}
            <Rollup task={task} changed={changed} />
          </section>
        ))}
      {tasks && tasks.length === 0 && (!mine || mine.length === 0) && <p class="muted">{t("task.none")}</p>}
    </>
  );
}

// The community's grid work (社区网格工作): the notes its grids wrote, to look at or turn into
// cases; the households whose visit is overdue; who works in which grid and who is on duty;
// the outcomes by grid. Outcomes by territory, never a ranking of people.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const KINDS = ["steward", "volunteer", "grid_worker", "building_head", "police"];

function Notes({ code }) {
  const [notes, setNotes] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api("GET", `/api/gridwork/notes?territory=${code}&open=true`).then(setNotes, (e) => setError(e.message));
  useEffect(() => {
    load();
  }, [code]);
  async function review(n, action) {
    setError(null);
    try {
      await api("POST", `/api/gridwork/notes/${n.id}/review`, { action });
      load();
    } catch (e) {
      setError(e.message);
    }
  }
  if (!notes) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <section class="card" aria-labelledby="notes-title">
      <h2 id="notes-title">{t("cw.notes")}</h2>
      {notes.length === 0 && <p class="muted">{t("cw.no_notes")}</p>}
      <ul class="case-list">
        {notes.map((n) => (
          <li key={n.id} data-testid={`note-${n.id}`}>
            <span class="badge">{t(`gw.kind.${n.kind}`)}</span> {n.text}
            <br />
            <span class="muted">
              {n.grid_name} · {n.author} · {formatTime(n.created_at_ms)}
            </span>{" "}
            <button type="button" class="quiet" onClick={() => review(n, "reviewed")}>
              {t("cw.reviewed")}
            </button>{" "}
            <button type="button" onClick={() => review(n, "case")}>
              {t("cw.to_case")}
            </button>
          </li>
        ))}
      </ul>
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

function Overdue({ code }) {
  const [plan, setPlan] = useState(null);
  useEffect(() => {
    api("GET", `/api/gridwork/visit-plan?territory=${code}&overdue=true`).then(setPlan, () => setPlan(null));
  }, [code]);
  if (!plan) return null;
  return (
    <section class="card" aria-labelledby="overdue-title">
      <h2 id="overdue-title">{t("cw.overdue", { n: plan.length })}</h2>
      <div class="table-wrap">
        <table>
          <caption class="muted">{t("cw.overdue_note")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("cw.household")}</th>
              <th scope="col">{t("cw.grid")}</th>
              <th scope="col">{t("cw.care")}</th>
              <th scope="col">{t("cw.due")}</th>
            </tr>
          </thead>
          <tbody>
            {plan.slice(0, 100).map((h) => (
              <tr key={h.household_key}>
                <td>{[h.household.address, h.household.house_number].filter(Boolean).join(" ") || t("gw.no_house")}</td>
                <td>{h.grid_name}</td>
                <td>{h.household.care_tags.map((g) => t(`tag.${g}`)).join("、") || t("cw.every_household")}</td>
                <td>{formatTime(h.due_ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Roster({ code }) {
  const [r, setR] = useState(null);
  const [people, setPeople] = useState([]);
  const [grids, setGrids] = useState([]);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const load = () => api("GET", `/api/gridwork/roster/${code}`).then(setR, (e) => setError(e.message));
  useEffect(() => {
    load();
    api("GET", "/api/people?limit=500").then(setPeople, () => {});
    if (code.length === 12) api("GET", `/api/territories?parent=${code}&limit=200`).then((p) => setGrids(p.items), () => {});
  }, [code]);
  async function register(e) {
    e.preventDefault();
    setError(null);
    const f = new FormData(e.target);
    try {
      await api("POST", "/api/gridwork/members", {
        person_id: Number(f.get("person")),
        grid_code: f.get("grid"),
        kind: f.get("kind"),
        team: f.get("team") || "",
      });
      setDone(t("cw.registered"));
      load();
    } catch (err) {
      setError(err.message);
    }
  }
  async function duty(e) {
    e.preventDefault();
    setError(null);
    const f = new FormData(e.target);
    const m = r.members.find((x) => String(x.id) === f.get("member"));
    const day = f.get("day");
    try {
      await api("POST", "/api/gridwork/duties", {
        grid_code: m.grid_code,
        person_id: m.person_id,
        starts_ms: Date.parse(`${day}T${f.get("from")}:00+08:00`),
        ends_ms: Date.parse(`${day}T${f.get("to")}:00+08:00`),
        note: f.get("note") || "",
      });
      setDone(t("cw.duty_added"));
      load();
    } catch (err) {
      setError(err.message);
    }
  }
  if (!r) return error ? <p class="error" role="alert">{error}</p> : null;
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  return (
    <section class="card" aria-labelledby="roster-title">
      <h2 id="roster-title">{t("cw.roster")}</h2>
      <h3>{t("cw.on_duty_now")}</h3>
      {r.on_duty_now.length === 0 ? (
        <p class="muted">{t("map.nobody_on_duty")}</p>
      ) : (
        <ul>
          {r.on_duty_now.map((d) => (
            <li key={d.id}>
              {d.grid_name} · {d.name} · {formatTime(d.starts_ms)} – {formatTime(d.ends_ms)} {d.note}
            </li>
          ))}
        </ul>
      )}
      <h3>{t("cw.members")}</h3>
      <ul data-testid="members">
        {r.members.map((m) => (
          <li key={m.id}>
            {m.grid_name} · {m.name} · {t(`gw.member.${m.kind}`)}
            {m.team && ` · ${m.team}`}
          </li>
        ))}
      </ul>
      {r.members.length > 0 && (
        <details class="action">
          <summary>{t("cw.add_duty")}</summary>
          <form onSubmit={duty}>
            <label for="d-member">{t("cw.member")}</label>
            <select id="d-member" name="member">
              {r.members.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.grid_name} · {m.name}
                </option>
              ))}
            </select>
            <label for="d-day">{t("cw.day")}</label>
            <input id="d-day" name="day" type="date" required value={today} />
            <label for="d-from">{t("cw.from")}</label>
            <input id="d-from" name="from" type="time" required value="08:00" />
            <label for="d-to">{t("cw.to")}</label>
            <input id="d-to" name="to" type="time" required value="12:00" />
            <label for="d-note">{t("cw.note")}</label>
            <input id="d-note" name="note" />
            <p>
              <button type="submit">{t("cw.add_duty")}</button>
            </p>
          </form>
        </details>
      )}
      {people.length > 0 && grids.length > 0 && (
        <details class="action">
          <summary>{t("cw.register")}</summary>
          <form onSubmit={register}>
            <label for="m-person">{t("cw.person")}</label>
            <select id="m-person" name="person">
              {people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            <label for="m-grid">{t("cw.grid")}</label>
            <select id="m-grid" name="grid">
              {grids.map((g) => (
                <option key={g.code} value={g.code}>
                  {g.name}
                </option>
              ))}
            </select>
            <label for="m-kind">{t("cw.kind")}</label>
            <select id="m-kind" name="kind">
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`gw.member.${k}`)}
                </option>
              ))}
            </select>
            <label for="m-team">{t("cw.team")}</label>
            <input id="m-team" name="team" />
            <p>
              <button type="submit">{t("cw.register")}</button>
            </p>
          </form>
        </details>
      )}
      {done && <p role="status">{done}</p>}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

function Outcomes({ code }) {
  const [rows, setRows] = useState(null);
  useEffect(() => {
    api("GET", `/api/gridwork/indicators/breakdown?territory=${code}`).then(setRows, () => setRows(null));
  }, [code]);
  if (!rows) return null;
  return (
    <section class="card" aria-labelledby="outcomes-title">
      <h2 id="outcomes-title">{t("cw.outcomes")}</h2>
      <div class="table-wrap">
        <table data-testid="outcomes">
          <caption class="muted">{t("cw.outcomes_note")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("cw.grid")}</th>
              <th scope="col">{t("cw.patrols")}</th>
              <th scope="col">{t("gw.ind.found")}</th>
              <th scope="col">{t("gw.ind.self_fix")}</th>
              <th scope="col">{t("cw.visited")}</th>
              <th scope="col">{t("gw.ind.notes")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.territory_code}>
                <th scope="row">{r.territory_code === code ? t("task.total") : r.territory_name || r.territory_code}</th>
                <td>{r.counts.patrols}</td>
                <td>{r.counts.found}</td>
                <td>{pct(r.rates.self_fix_rate)}</td>
                <td>
                  {r.counts.households_visited}/{r.counts.households_due}
                </td>
                <td>{r.counts.notes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        <a href={`/api/gridwork/indicators/breakdown?territory=${code}&format=csv`}>{t("dash.gridwork_export")}</a>
      </p>
    </section>
  );
}

export function CommunityWork({ me }) {
  const scopes = me.grants
    .filter((g) => ["community_staff", "street_commander"].includes(g.role))
    .map((g) => g.scope)
    .filter((c, i, all) => all.indexOf(c) === i);
  const [code, setCode] = useState(scopes[0]);
  const [name, setName] = useState(null);
  useEffect(() => {
    if (code) api("GET", `/api/map/outline/${code}`).then((o) => setName(o.name), () => {});
  }, [code]);
  if (!code) return <p class="muted">{t("gw.no_grid")}</p>;
  return (
    <>
      <section class="card">
        <h2>{t("cw.title", { name: name || code })}</h2>
        {scopes.length > 1 && (
          <select aria-label={t("cw.scope")} value={code} onChange={(e) => setCode(e.target.value)}>
            {scopes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        )}
        <p class="muted">{t("cw.intro")}</p>
      </section>
      <Notes code={code} />
      {code.length === 12 && <Overdue code={code} />}
      <Roster code={code} />
      <Outcomes code={code} />
    </>
  );
}

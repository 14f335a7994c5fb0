// The base archives (房车人物) for staff, and "my data" for residents. Every record is shown
// masked; reading personal data in clear asks for a purpose, and the page says the read is
// recorded. A resident sees what is held about them, who read it and why, and asks for a
// correction or a deletion.
import { useEffect, useState } from "preact/hooks";
import { api, sendText, ApiError } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const tagName = (tag) => t(`tag.${tag}`);

function Tags({ tags }) {
  return (tags || []).map((g) => (
    <span key={g} class="badge">
      {tagName(g)}
    </span>
  ));
}

/// One person: masked, with a form to read in clear for a stated purpose.
function Person({ id, onClose, editable }) {
  const [p, setP] = useState(null);
  const [error, setError] = useState(null);
  const [kind, setKind] = useState("reason");
  const [purpose, setPurpose] = useState("");
  useEffect(() => {
    api("GET", `/api/archives/people/${id}`).then(setP, (e) => setError(e.message));
  }, [id]);
  async function reveal(e) {
    e.preventDefault();
    setError(null);
    try {
      const q = new URLSearchParams({ purpose_kind: kind, purpose });
      setP(await api("GET", `/api/archives/people/${id}?${q}`));
    } catch (err) {
      setError(err.message);
    }
  }
  if (!p) return error ? <p class="error" role="alert">{error}</p> : null;
  const row = (label, value) =>
    value === null || value === undefined ? null : (
      <>
        <dt>{label}</dt>
        <dd>{value}</dd>
      </>
    );
  return (
    <section class="card" aria-labelledby="person-title">
      <h3 id="person-title">
        {p.name} <span class="muted">{p.grid_name}</span>
      </h3>
      <dl class="facts">
        {row(t("archives.sex"), t(`sex.${p.sex}`))}
        {row(t("archives.birth"), p.birth_date || p.birth_year)}
        {row(t("archives.id"), p.id_number)}
        {row(t("archives.phone"), p.phone)}
        {row(t("archives.residence"), t(`residence.${p.residence}`))}
        {row(t("archives.relation"), t(`relation.${p.relation}`))}
        {p.care_tags.length > 0 && row(t("archives.care"), <Tags tags={p.care_tags} />)}
        {p.special_tags && row(t("archives.special"), p.special_tags.length ? <Tags tags={p.special_tags} /> : t("archives.none"))}
        {p.anonymised && row(t("archives.state"), t("archives.anonymised"))}
      </dl>
      {p.clear.length > 0 ? (
        <p class="notice" role="status" data-testid="read-recorded">
          {t("archives.recorded")}
        </p>
      ) : (
        <form onSubmit={reveal}>
          <p class="muted">{t("archives.masked")}</p>
          <label for="purpose-kind">{t("archives.purpose_kind")}</label>
          <select id="purpose-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="reason">{t("archives.purpose.reason")}</option>
            <option value="case">{t("archives.purpose.case")}</option>
          </select>
          <label for="purpose">{kind === "case" ? t("archives.purpose.case_id") : t("archives.purpose.text")}</label>
          <input id="purpose" required value={purpose} onInput={(e) => setPurpose(e.target.value)} />
          <p>
            <button type="submit">{t("archives.reveal")}</button>
          </p>
        </form>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {editable && !p.anonymised && <Edit p={p} onSaved={setP} />}
      <History id={p.id} version={p.version} />
      <p>
        <button class="quiet" type="button" onClick={onClose}>
          {t("archives.close")}
        </button>
      </p>
    </section>
  );
}

/// Who changed what when: the record's history, masked.
function History({ id, version }) {
  const [rows, setRows] = useState([]);
  useEffect(() => {
    api("GET", `/api/archives/history/person/${id}`).then(setRows, () => setRows([]));
  }, [id, version]);
  if (rows.length === 0) return null;
  return (
    <details class="action">
      <summary>{t("archives.history", { n: rows.length })}</summary>
      <ul data-testid="history">
        {rows.map((r, i) => (
          <li key={i}>
            {formatTime(r.at_ms)} · {r.by || t("archives.system")} · {t(`field.${r.field}`)}：{r.old ?? "—"} → {r.new ?? "—"}
          </li>
        ))}
      </ul>
    </details>
  );
}

const CARE = ["living_alone", "empty_nest", "very_old", "disabled", "low_income", "left_behind_child", "entitled"];

/// A change from the field: residence, phone, care groups, moving out. The record's version
/// goes with it, so a change made meanwhile by someone else is not overwritten.
function Edit({ p, onSaved }) {
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  async function save(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = { version: p.version, residence: f.get("residence"), care_tags: CARE.filter((c) => f.get(`care-${c}`)) };
    if (f.get("phone")) body.phone = f.get("phone");
    if (f.get("moved_out")) body.moved_out = f.get("moved_out");
    setError(null);
    try {
      onSaved(await api("PATCH", `/api/archives/people/${p.id}`, body));
      setSaved(true);
    } catch (err) {
      setError(err.message);
    }
  }
  return (
    <details class="action">
      <summary>{t("archives.edit")}</summary>
      <form onSubmit={save}>
        <label for="edit-residence">{t("archives.residence")}</label>
        <select id="edit-residence" name="residence" value={p.residence}>
          {["registered", "resident", "floating"].map((r) => (
            <option key={r} value={r}>
              {t(`residence.${r}`)}
            </option>
          ))}
        </select>
        <label for="edit-phone">{t("archives.new_phone")}</label>
        <input id="edit-phone" name="phone" inputmode="tel" autocomplete="off" />
        <fieldset>
          <legend>{t("archives.care")}</legend>
          {CARE.map((c) => (
            <label class="inline" key={c}>
              <input type="checkbox" name={`care-${c}`} defaultChecked={p.care_tags.includes(c)} /> {tagName(c)}
            </label>
          ))}
        </fieldset>
        <label for="edit-moved-out">{t("archives.moved_out")}</label>
        <input id="edit-moved-out" name="moved_out" type="date" />
        <p>
          <button type="submit">{t("archives.save")}</button>
        </p>
        {saved && <p role="status">{t("archives.saved")}</p>}
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </details>
  );
}

/// Imports a file with a preview first: every bad row listed by line and field, nothing
/// written until the preview is clean and the importer confirms.
function Import() {
  const [kind, setKind] = useState("people");
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [problems, setProblems] = useState([]);
  const [done, setDone] = useState(null);
  const [error, setError] = useState(null);
  async function send(dryRun) {
    setError(null);
    setProblems([]);
    setDone(null);
    const format = file.name.toLowerCase().endsWith(".xlsx") ? "xlsx" : "csv";
    try {
      const data = await sendText("POST", `/api/archives/import?kind=${kind}&format=${format}&dry_run=${dryRun}`, await file.arrayBuffer(), "application/octet-stream");
      setPreview(dryRun ? data : null);
      if (!dryRun) setDone(data);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      setProblems(e.details);
      setError(e.message);
      setPreview(null);
    }
  }
  return (
    <section class="card" aria-labelledby="import-title">
      <h3 id="import-title">{t("archives.import")}</h3>
      <label for="import-kind">{t("archives.import_kind")}</label>
      <select id="import-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
        {["buildings", "houses", "people", "vehicles", "components", "businesses"].map((k) => (
          <option key={k} value={k}>
            {t(`archives.kind.${k}`)}
          </option>
        ))}
      </select>
      <label for="import-file">{t("archives.import_file")}</label>
      <input id="import-file" type="file" accept=".csv,.xlsx" onChange={(e) => setFile(e.target.files[0] || null)} />
      <p>
        <button type="button" disabled={!file} onClick={() => send(true)}>
          {t("archives.preview")}
        </button>{" "}
        <button type="button" disabled={!preview} onClick={() => send(false)}>
          {t("archives.import_go")}
        </button>
      </p>
      {preview && <p role="status">{t("archives.previewed", { rows: preview.rows, created: preview.created, merged: preview.merged })}</p>}
      {done && <p role="status">{t("archives.imported", { created: done.created, merged: done.merged })}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {problems.length > 0 && (
        <ul data-testid="import-problems">
          {problems.map((d, i) => (
            <li key={i}>
              {d.location} · {d.field}：{d.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/// A building's page: its houses, their households (masked) and the open cases that name it.
export function Building({ id }) {
  const [b, setB] = useState(null);
  const [person, setPerson] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api("GET", `/api/archives/buildings/${id}`).then(setB, (e) => setError(e.message));
  }, [id]);
  if (!b) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <>
      <section class="card">
        <h2>{b.building.address}</h2>
        <p class="muted">
          {b.building.grid_name} · {t(`archives.bkind.${b.building.kind}`)}
          {b.building.floors && ` · ${t("archives.floors", { n: b.building.floors })}`}
        </p>
        <h3>{t("archives.open_cases")}</h3>
        {b.open_items.length === 0 ? (
          <p class="muted">{t("archives.none")}</p>
        ) : (
          <ul>
            {b.open_items.map((o) => (
              <li key={o.id}>
                <a href={`#/cases/${o.id}`}>#{o.id}</a> <span class={`badge s-${o.status}`}>{t(`status.${o.status}`)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      {person && <Person id={person} key={person} onClose={() => setPerson(null)} editable />}
      <section class="card">
        <div class="table-wrap">
          <table>
            <caption class="muted">{t("archives.houses")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("archives.house")}</th>
                <th scope="col">{t("archives.members")}</th>
                <th scope="col">{t("archives.care")}</th>
              </tr>
            </thead>
            <tbody>
              {b.houses.map((h) => (
                <tr key={h.id}>
                  <td>
                    {h.number} <span class="badge">{t(`use.${h.house_use}`)}</span>
                  </td>
                  <td class="members">
                    {h.households.flatMap((hh) => hh.members).map((m) => (
                      <button key={m.id} type="button" class="link" onClick={() => setPerson(m.id)}>
                        {m.name}
                      </button>
                    ))}
                  </td>
                  <td>
                    <Tags tags={[...new Set(h.households.flatMap((hh) => hh.care_tags))]} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function Households({ grid, onPick }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setList(null);
    setError(null);
    if (grid) api("GET", `/api/archives/grids/${grid}/households`).then(setList, (e) => setError(e.message));
  }, [grid]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!list) return null;
  if (list.length === 0) return <p class="muted">{t("archives.empty")}</p>;
  const cared = list.filter((h) => h.care_tags.length > 0).length;
  return (
    <>
      <p>
        {t("archives.summary", { households: list.length, people: list.reduce((n, h) => n + h.members.length, 0), cared })}{" "}
        <a href={`/api/archives/grids/${grid}/export`}>{t("archives.export")}</a>
      </p>
      <div class="table-wrap">
        <table>
          <caption class="muted">{t("archives.households")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("archives.house")}</th>
              <th scope="col">{t("archives.members")}</th>
              <th scope="col">{t("archives.care")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((h) => (
              <tr key={`${h.house_id}-${h.household}`}>
                <td>
                  {h.building_id ? <a href={`#/archives/buildings/${h.building_id}`}>{h.address}</a> : h.address} {h.house_number}
                  {h.house_use && <span class="badge">{t(`use.${h.house_use}`)}</span>}
                </td>
                <td class="members">
                  {h.members.map((m) => (
                    <button key={m.id} type="button" class="link" onClick={() => onPick(m.id)}>
                      {m.name}（{t(`relation.${m.relation}`)}，{m.birth_year}）
                    </button>
                  ))}
                </td>
                <td>
                  <Tags tags={h.care_tags} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Requests() {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api("GET", "/api/archives/requests?open=true").then(setList, (e) => setError(e.message));
  useEffect(() => {
    load();
  }, []);
  async function decide(r, action, text) {
    try {
      await api("POST", `/api/archives/requests/${r.id}/${action}`, { version: r.version, text });
      load();
    } catch (e) {
      setError(e.message);
    }
  }
  const handling = (list || []).filter((r) => r.actions.length > 0);
  if (!list || handling.length === 0) return null;
  return (
    <section class="card" aria-labelledby="requests-title">
      <h3 id="requests-title">{t("archives.requests")}</h3>
      {error && <p class="error" role="alert">{error}</p>}
      <ul class="case-list">
        {handling.map((r) => (
          <li key={r.id}>
            <strong>
              #{r.id} {t(`request.${r.kind}`)}
            </strong>
            {r.overdue && <span class="badge s-overdue">{t("case.overdue")}</span>}
            <br />
            {r.field && `${t(`field.${r.field}`)}：`}
            {r.detail}
            <br />
            <span class="muted">{t("archives.due", { due: formatTime(r.due_at_ms) })}</span>
            <form onSubmit={(e) => e.preventDefault()}>
              <label for={`answer-${r.id}`}>{t("archives.answer_text")}</label>
              <input id={`answer-${r.id}`} name="text" required />
              <p>
                {["answer", "refuse"].map((action) => (
                  <button
                    key={action}
                    type="button"
                    class={action === "refuse" ? "quiet" : ""}
                    onClick={(e) => {
                      const f = e.target.form;
                      if (f.reportValidity()) decide(r, action, f.elements.text.value);
                    }}
                  >
                    {action === "refuse" ? t("archives.refuse") : r.kind === "deletion" ? t("archives.answer_delete") : t("archives.answer")}
                  </button>
                ))}
              </p>
            </form>
          </li>
        ))}
      </ul>
    </section>
  );
}

/// The staff page: a grid's households, a search, a person's record, the requests to handle.
export function Archives({ me }) {
  const edits = me.grants.some((g) => ["grid_worker", "community_staff"].includes(g.role));
  const imports = me.grants.some((g) => ["community_staff", "admin"].includes(g.role));
  const grids = [...new Set(me.grants.map((g) => g.scope).filter((s) => s.length === 15))];
  const [grid, setGrid] = useState(grids[0] || "");
  const [q, setQ] = useState("");
  const [found, setFound] = useState(null);
  const [person, setPerson] = useState(null);
  const [error, setError] = useState(null);
  async function search(e) {
    e.preventDefault();
    setError(null);
    try {
      setFound(await api("GET", `/api/archives/search?q=${encodeURIComponent(q)}`));
    } catch (err) {
      setError(err.message);
    }
  }
  return (
    <>
      <section class="card">
        <h2>{t("archives.title")}</h2>
        <p class="muted">{t("archives.intro")}</p>
        <form onSubmit={search} class="search">
          <label for="archive-q">{t("archives.search")}</label>
          <input id="archive-q" type="search" required value={q} onInput={(e) => setQ(e.target.value)} />{" "}
          <button type="submit">{t("archives.search_go")}</button>
        </form>
        {error && <p class="error" role="alert">{error}</p>}
        {found && (
          <ul class="case-list" aria-label={t("archives.found")}>
            {found.people.map((p) => (
              <li key={`p${p.id}`}>
                <button type="button" class="link" onClick={() => setPerson(p.id)}>
                  {p.name}
                </button>{" "}
                <span class="muted">{p.grid_name}</span> <Tags tags={p.care_tags} />
              </li>
            ))}
            {found.buildings.map((b) => (
              <li key={`b${b.id}`}>
                <a href={`#/archives/buildings/${b.id}`}>{b.address}</a> <span class="muted">{b.grid_name}</span>
              </li>
            ))}
            {found.people.length + found.buildings.length === 0 && <li class="muted">{t("archives.nothing")}</li>}
          </ul>
        )}
        <label for="archive-grid">{t("archives.grid")}</label>
        <input id="archive-grid" value={grid} inputmode="numeric" onChange={(e) => setGrid(e.target.value.trim())} />
      </section>
      {person && <Person id={person} key={person} onClose={() => setPerson(null)} editable={edits} />}
      <Requests />
      {imports && <Import />}
      <section class="card">
        <Households grid={grid} onPick={setPerson} />
      </section>
    </>
  );
}

/// The resident's page: what the archives hold about me, who read it, my requests.
export function MyData() {
  const [mine, setMine] = useState(null);
  const [requests, setRequests] = useState([]);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const load = () => {
    api("GET", "/api/me/archives").then(setMine, (e) => setError(e.message));
    api("GET", "/api/archives/requests").then(setRequests, () => {});
  };
  useEffect(load, []);
  async function claim(e) {
    e.preventDefault();
    setError(null);
    try {
      await api("POST", "/api/me/archives/claim", { id_number: new FormData(e.target).get("id_number") });
      load();
    } catch (err) {
      setError(err.message);
    }
  }
  async function ask(e, record) {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    try {
      await api("POST", "/api/archives/requests", {
        archive_person_id: record,
        kind: f.get("kind"),
        field: f.get("kind") === "correction" ? f.get("field") : null,
        detail: f.get("detail"),
      });
      setDone(t("mydata.asked"));
      load();
    } catch (err) {
      setError(err.message);
    }
  }
  if (!mine) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <>
      <section class="card">
        <h2>{t("mydata.title")}</h2>
        <p class="muted">{t("mydata.intro")}</p>
        {error && <p class="error" role="alert">{error}</p>}
        {done && <p role="status">{done}</p>}
        {mine.length === 0 && (
          <form onSubmit={claim}>
            <p>{t("mydata.claim_intro")}</p>
            <label for="id-number">{t("archives.id")}</label>
            <input id="id-number" name="id_number" required autocomplete="off" maxlength="18" />
            <p>
              <button type="submit">{t("mydata.claim")}</button>
            </p>
          </form>
        )}
      </section>
      {mine.map(({ person: p, reads }) => (
        <section class="card" key={p.id}>
          <h3>{p.name}</h3>
          <dl class="facts">
            <dt>{t("archives.grid")}</dt>
            <dd>{p.grid_name}</dd>
            <dt>{t("archives.id")}</dt>
            <dd>{p.id_number}</dd>
            <dt>{t("archives.phone")}</dt>
            <dd>{p.phone || t("archives.none")}</dd>
            <dt>{t("archives.birth")}</dt>
            <dd>{p.birth_date}</dd>
            <dt>{t("archives.residence")}</dt>
            <dd>{t(`residence.${p.residence}`)}</dd>
            <dt>{t("archives.care")}</dt>
            <dd>{p.care_tags.length ? <Tags tags={p.care_tags} /> : t("archives.none")}</dd>
          </dl>
          <h4>{t("mydata.reads")}</h4>
          {reads.length === 0 ? (
            <p class="muted">{t("mydata.no_reads")}</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("mydata.when")}</th>
                    <th scope="col">{t("mydata.who")}</th>
                    <th scope="col">{t("mydata.what")}</th>
                    <th scope="col">{t("mydata.why")}</th>
                  </tr>
                </thead>
                <tbody>
                  {reads.map((r, i) => (
                    <tr key={i}>
                      <td>{formatTime(r.at_ms)}</td>
                      <td>{r.by}</td>
                      <td>{r.fields.map((f) => t(`field.${f}`)).join("、")}</td>
                      <td>{r.purpose}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h4>{t("mydata.ask")}</h4>
          <form onSubmit={(e) => ask(e, p.id)}>
            <label for={`kind-${p.id}`}>{t("mydata.kind")}</label>
            <select id={`kind-${p.id}`} name="kind">
              <option value="correction">{t("request.correction")}</option>
              <option value="deletion">{t("request.deletion")}</option>
            </select>
            <label for={`field-${p.id}`}>{t("mydata.field")}</label>
            <select id={`field-${p.id}`} name="field">
              {["name", "phone", "residence", "relation", "birth_date", "id_number"].map((f) => (
                <option key={f} value={f}>
                  {t(`field.${f}`)}
                </option>
              ))}
            </select>
            <label for={`detail-${p.id}`}>{t("mydata.detail")}</label>
            <textarea id={`detail-${p.id}`} name="detail" required rows="3" />
            <p>
              <button type="submit">{t("mydata.send")}</button>
            </p>
          </form>
        </section>
      ))}
      {requests.length > 0 && (
        <section class="card">
          <h3>{t("mydata.requests")}</h3>
          <ul class="case-list">
            {requests.map((r) => (
              <li key={r.id}>
                #{r.id} {t(`request.${r.kind}`)} <span class="badge">{t(`request.status.${r.status}`)}</span>
                <br />
                <span class="muted">{t("archives.due", { due: formatTime(r.due_at_ms || r.created_at_ms) })}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

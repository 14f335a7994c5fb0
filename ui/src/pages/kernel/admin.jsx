// Administration: territories (import with a preview of every error before anything is
// saved), organisations, people and their posts, categories with their time limits and
// responsible units (the dispatch rules), and the working calendar.
import { useEffect, useState } from "preact/hooks";
import { api, sendText } from "../../api.js";
import { t } from "../../i18n.js";
import { TextAdmin } from "../text/text.jsx";

// 三员分立: the system administrator's settings and the security administrator's accounts
// and posts are separate duties, so each sees only their own tabs.
const SETTINGS_TABS = ["territories", "organisations", "categories", "calendar", "text"];
const ACCOUNT_TABS = ["people"];
const ORG_KINDS = ["party_organisation", "command_centre", "department", "street_office", "community_committee", "volunteer_team", "practice_centre", "legal_service", "admin_office"];
const ROLES = ["resident", "grid_worker", "steward", "community_staff", "street_commander", "department_handler", "dispatcher", "district_leader", "city_leader", "data_protection_officer", "admin", "security_admin"];

function Problems({ error }) {
  if (!error) return null;
  return (
    <div role="alert">
      <p class="error">{error.message}</p>
      {error.details?.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={t("admin.problems")}>
          <table data-testid="problems">
            <caption>{t("admin.problems_n", { n: error.details.length })}</caption>
            <thead><tr><th scope="col">{t("admin.where")}</th><th scope="col">{t("admin.field")}</th><th scope="col">{t("admin.reason")}</th></tr></thead>
            <tbody>{error.details.map((d, i) => <tr key={i}><td>{d.location}</td><td>{d.field}</td><td>{d.reason}</td></tr>)}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Territories() {
  const [text, setText] = useState("");
  const [format, setFormat] = useState("csv");
  const [crs, setCrs] = useState("wgs84");
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const run = async (dry) => {
    setError(null);
    setDone(null);
    try {
      const r = await sendText("POST", `/api/territories/import?format=${format}&crs=${crs}&dry_run=${dry}`, text, format === "csv" ? "text/csv" : "application/geo+json");
      dry ? setPreview(r) : (setDone(r), setPreview(null));
    } catch (e) {
      setPreview(null);
      setError(e);
    }
  };
  const file = async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    setFormat(f.name.endsWith(".csv") ? "csv" : "geojson");
    setText(await f.text());
    setPreview(null);
  };
  return (
    <section class="card">
      <h2>{t("admin.territories")}</h2>
      <p class="muted">{t("admin.territories.intro")}</p>
      <label for="t-file">{t("admin.file")}</label>
      <input id="t-file" type="file" accept=".csv,.geojson,.json" onChange={file} />
      <label for="t-format">{t("admin.format")}</label>
      <select id="t-format" value={format} onChange={(e) => { setFormat(e.target.value); setPreview(null); }}>
        <option value="csv">CSV</option><option value="geojson">GeoJSON</option>
      </select>
      <label for="t-crs">{t("admin.crs")}</label>
      <select id="t-crs" value={crs} onChange={(e) => { setCrs(e.target.value); setPreview(null); }}>
        <option value="wgs84">WGS84</option><option value="gcj02">GCJ-02</option>
      </select>
      <label for="t-text">{t("admin.content")}</label>
      <textarea id="t-text" rows={6} value={text} onInput={(e) => { setText(e.target.value); setPreview(null); }}></textarea>
      <p>
        <button type="button" onClick={() => run(true)} disabled={!text}>{t("admin.preview")}</button>{" "}
        <button type="button" onClick={() => run(false)} disabled={!preview}>{t("admin.import")}</button>
      </p>
      {preview && <p role="status" data-testid="preview">{t("admin.preview_ok", { n: preview.imported, levels: JSON.stringify(preview.by_level) })}</p>}
      {done && <p role="status" class="ok" data-testid="imported">{t("admin.imported", { n: done.imported })}</p>}
      <Problems error={error} />
    </section>
  );
}

function Organisations() {
  const [orgs, setOrgs] = useState([]);
  const [error, setError] = useState(null);
  const load = () => api("GET", "/api/organisations?limit=200").then(setOrgs, (e) => setError(e));
  useEffect(() => { load(); }, []);
  const create = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    try {
      await api("POST", "/api/organisations", { name: f.get("name"), kind: f.get("kind"), territory_code: f.get("territory"), parent_id: f.get("parent") ? Number(f.get("parent")) : null });
      e.target.reset();
      load();
    } catch (err) { setError(err); }
  };
  return (
    <section class="card">
      <h2>{t("admin.organisations")}</h2>
      <form onSubmit={create} aria-label={t("admin.org.new")}>
        <label for="o-name">{t("admin.name")}</label><input id="o-name" name="name" required />
        <label for="o-kind">{t("admin.kind")}</label>
        <select id="o-kind" name="kind">{ORG_KINDS.map((k) => <option value={k} key={k}>{t(`org.${k}`)}</option>)}</select>
        <label for="o-territory">{t("admin.territory_code")}</label><input id="o-territory" name="territory" required />
        <label for="o-parent">{t("admin.parent_id")}</label><input id="o-parent" name="parent" type="number" />
        <p><button type="submit">{t("admin.create")}</button></p>
      </form>
      <Problems error={error} />
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("admin.organisations")}>
        <table>
          <thead><tr><th scope="col">ID</th><th scope="col">{t("admin.name")}</th><th scope="col">{t("admin.kind")}</th><th scope="col">{t("admin.territory_code")}</th></tr></thead>
          <tbody>{orgs.map((o) => <tr key={o.id}><td>{o.id}</td><td>{o.name}</td><td>{t(`org.${o.kind}`)}</td><td>{o.territory_code}</td></tr>)}</tbody>
        </table>
      </div>
    </section>
  );
}

/// A choice among many by name: a search box narrows the list (to the first 50 that match)
/// and the list gives the id, so nobody types an id.
function Pick({ id, name, label, items, text, onPick }) {
  const [q, setQ] = useState("");
  const shown = items.filter((x) => text(x).includes(q.trim())).slice(0, 50);
  // What the list shows first is what the form sends: tell the form when a search changes it.
  useEffect(() => { if (shown[0]) onPick?.(shown[0]); }, [q]);
  return (
    <>
      <label for={id}>{label}</label>
      <input type="search" aria-label={`${label}：${t("admin.search")}`} placeholder={t("admin.search")} value={q} onInput={(e) => setQ(e.target.value)} />
      <select id={id} name={name} required onChange={(e) => onPick?.(items.find((x) => String(x.id) === e.target.value))}>
        {shown.map((x) => <option value={x.id} key={x.id}>{text(x)}</option>)}
      </select>
    </>
  );
}

function People() {
  const [people, setPeople] = useState([]);
  const [orgs, setOrgs] = useState([]);
  const [scope, setScope] = useState("");
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const load = () => api("GET", "/api/people?limit=1000").then(setPeople, (e) => setError(e));
  useEffect(() => {
    load();
    api("GET", "/api/organisations?limit=1000").then((o) => (setOrgs(o), setScope(o[0]?.territory_code || "")), () => {});
  }, []);
  const personText = (p) => `${p.name}${p.username ? `（${p.username}）` : ""} · #${p.id}`;
  const orgText = (o) => `${o.name} · ${o.territory_code}`;
  const submit = (f) => async (e) => {
    e.preventDefault();
    setError(null);
    setNote(null);
    try {
      setNote(await f(new FormData(e.target)));
      e.target.reset();
      load();
    } catch (err) { setError(err); }
  };
  const create = submit(async (f) => {
    const p = await api("POST", "/api/people", { name: f.get("name"), phone: f.get("phone") || null, home_territory: f.get("home"), username: f.get("username") || null, password: f.get("password") || null });
    return t("admin.person.created", { id: p.id });
  });
  // A person's account: disable or enable it, set a new password, or reset a lost second
  // factor; each ends their sessions.
  const account = submit(async (f) => {
    const what = f.get("what");
    const body =
      what === "password" ? { password: f.get("new_password") } : what === "second_factor" ? { reset_second_factor: true } : { disabled: what === "disable" };
    await api("POST", `/api/people/${Number(f.get("person"))}/account`, body);
    return t(`admin.account.done.${what}`);
  });
  const grant = submit(async (f) => {
    await api("POST", "/api/memberships", { person_id: Number(f.get("person")), organisation_id: Number(f.get("org")), role: f.get("role"), scope_code: f.get("scope"), post: f.get("post") });
    return t("admin.granted");
  });
  return (
    <section class="card">
      <h2>{t("admin.people")}</h2>
      <form onSubmit={create} aria-label={t("admin.person.new")}>
        <h3>{t("admin.person.new")}</h3>
        <label for="p-name">{t("admin.name")}</label><input id="p-name" name="name" required />
        <label for="p-phone">{t("admin.phone")}</label><input id="p-phone" name="phone" />
        <label for="p-home">{t("admin.home")}</label><input id="p-home" name="home" required />
        <label for="p-user">{t("admin.username")}</label><input id="p-user" name="username" autocomplete="off" />
        <label for="p-pass">{t("admin.password")}</label><input id="p-pass" name="password" type="password" autocomplete="new-password" />
        <p><button type="submit">{t("admin.create")}</button></p>
      </form>
      <form onSubmit={grant} aria-label={t("admin.grant")}>
        <h3>{t("admin.grant")}</h3>
        <Pick id="m-person" name="person" label={t("admin.person")} items={people} text={personText} />
        <Pick id="m-org" name="org" label={t("admin.org")} items={orgs} text={orgText} onPick={(o) => o && setScope(o.territory_code)} />
        <label for="m-role">{t("admin.role")}</label>
        <select id="m-role" name="role">{ROLES.map((r) => <option value={r} key={r}>{t(`role.${r}`)}</option>)}</select>
        <label for="m-scope">{t("admin.scope")}</label><input id="m-scope" name="scope" required value={scope} onInput={(e) => setScope(e.target.value)} />
        <p class="muted">{t("admin.scope_hint")}</p>
        <label for="m-post">{t("admin.post")}</label><input id="m-post" name="post" required />
        <p><button type="submit">{t("admin.grant")}</button></p>
      </form>
      <form onSubmit={account} aria-label={t("admin.account.title")}>
        <h3>{t("admin.account.title")}</h3>
        <Pick id="a-person" name="person" label={t("admin.person")} items={people} text={personText} />
        <label for="a-what">{t("admin.account.what")}</label>
        <select id="a-what" name="what">
          {["second_factor", "password", "disable", "enable"].map((w) => <option value={w} key={w}>{t(`admin.account.${w}`)}</option>)}
        </select>
        <label for="a-pass">{t("admin.account.new_password")}</label><input id="a-pass" name="new_password" type="password" autocomplete="new-password" />
        <p><button type="submit">{t("admin.account.submit")}</button></p>
      </form>
      {note && <p role="status" class="ok">{note}</p>}
      <Problems error={error} />
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("admin.people")}>
        <table class="stack">
          <thead><tr><th scope="col">ID</th><th scope="col">{t("admin.name")}</th><th scope="col">{t("admin.phone")}</th><th scope="col">{t("admin.home")}</th><th scope="col">{t("admin.username")}</th></tr></thead>
          <tbody>{people.map((p) => <tr key={p.id}><td data-label="ID">{p.id}</td><td data-label={t("admin.name")}>{p.name}</td><td data-label={t("admin.phone")}>{p.phone}</td><td data-label={t("admin.home")}>{p.home_territory}</td><td data-label={t("admin.username")}>{p.username}</td></tr>)}</tbody>
        </table>
      </div>
    </section>
  );
}

function CsvUpload({ id, label, path, method = "POST", onDone }) {
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const send = async () => {
    setError(null);
    setDone(null);
    try {
      const r = await sendText(method, path, text, "text/csv");
      setDone(t("admin.imported", { n: r.imported }));
      onDone?.();
    } catch (e) { setError(e); }
  };
  return (
    <>
      <label for={id}>{label}</label>
      <textarea id={id} rows={5} value={text} onInput={(e) => setText(e.target.value)}></textarea>
      <p><button type="button" disabled={!text} onClick={send}>{t("admin.import")}</button></p>
      {done && <p role="status" class="ok">{done}</p>}
      <Problems error={error} />
    </>
  );
}

function Categories() {
  const [cats, setCats] = useState([]);
  const load = () => api("GET", "/api/categories").then(setCats, () => {});
  useEffect(() => { load(); }, []);
  return (
    <section class="card">
      <h2>{t("admin.categories")}</h2>
      <p class="muted">{t("admin.categories.intro")}</p>
      <CsvUpload id="c-csv" label={t("admin.categories.csv")} path="/api/categories/import" onDone={load} />
      <CsvUpload id="a-csv" label={t("admin.attributes.csv")} path="/api/categories/attributes" />
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("admin.categories")}>
        <table>
          <thead><tr>{["code", "name", "accept", "handle", "verify", "priority", "unit"].map((c) => <th scope="col" key={c}>{t(`cat.${c}`)}</th>)}</tr></thead>
          <tbody>
            {cats.filter((c) => c.leaf).slice(0, 300).map((c) => (
              <tr key={c.code}><td>{c.code}</td><td>{c.name}{c.emergency ? " ⚠" : ""}</td><td>{c.accept_limit}</td><td>{c.handle_limit}</td><td>{c.verify_limit}</td><td>{c.priority}</td><td>{c.default_org}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Calendar() {
  return (
    <section class="card">
      <h2>{t("admin.calendar")}</h2>
      <p class="muted">{t("admin.calendar.intro")}</p>
      <CsvUpload id="cal-csv" label={t("admin.calendar.csv")} path="/api/calendar" method="PUT" />
    </section>
  );
}

export function Admin({ tab, settings, accounts }) {
  const tabs = [...(settings ? SETTINGS_TABS : []), ...(accounts ? ACCOUNT_TABS : [])];
  const current = tabs.includes(tab) ? tab : tabs[0];
  if (!current) return <p class="error" role="alert">{t("admin.forbidden")}</p>;
  return (
    <>
      <nav class="tabs" aria-label={t("admin.title")}>
        {tabs.map((x) => <a key={x} href={`#/admin/${x}`} aria-current={x === current ? "page" : undefined}>{t(`admin.${x}`)}</a>)}
        {settings && <a href="#/admin/open311">{t("nav.open311")}</a>}
      </nav>
      {current === "territories" && <Territories />}
      {current === "organisations" && <Organisations />}
      {current === "people" && <People />}
      {current === "categories" && <Categories />}
      {current === "calendar" && <Calendar />}
      {current === "text" && <TextAdmin />}
    </>
  );
}

// One case: its facts, its timeline, and a form for each step this person may take now
// (the server's `actions`, and only those).
import { useEffect, useState } from "preact/hooks";
import { api, listen } from "../../api.js";
import { t, formatTime } from "../../i18n.js";
import { MapPick } from "../kernel/map_pick.jsx";
import { Suggestions, SimilarCases } from "../text/text.jsx";

const SATISFACTION = ["satisfied", "basically_satisfied", "dissatisfied"];
// What each step asks for: [field, kind, required].
const FIELDS = {
  file: [["category", "category", false]],
  reject: [["reason", "text", true]],
  dispatch: [["org_id", "number", false]],
  accept: [],
  return: [["reason", "text", true]],
  handle: [["result", "textarea", true]],
  verify: [["note", "text", false]],
  rework: [["reason", "text", true]],
  request_extension: [["working_days", "number", true], ["reason", "text", true]],
  decide_extension: [["granted", "bool", false], ["note", "text", false]],
  park: [["reason", "text", true]],
  unpark: [],
  escalate: [["reason", "text", true]],
  merge: [["into", "number", true]],
  comment: [["text", "textarea", true]],
  reopen: [["reason", "text", true]],
  rate: [["satisfaction", "satisfaction", true], ["text", "text", false]],
  summon: [["org_ids", "ids", true], ["hours", "number", false]],
  check_in: [["org_id", "number", true]],
  assign_joint: [["lead", "number", true], ["cooperating", "ids", true]],
};

function Field({ action, name, kind, required, categories, value, onChange, preset }) {
  const id = `${action}-${name}`;
  const label = <label for={id}>{t(`field.${name}`)}</label>;
  if (kind === "bool") {
    return <label class="inline"><input id={id} name={name} type="checkbox" /> {t(`field.${name}`)}</label>;
  }
  if (kind === "satisfaction") {
    return (
      <>
        {label}
        <select id={id} name={name} required={required}>
          {SATISFACTION.map((s) => <option value={s} key={s}>{t(`sat.${s}`)}</option>)}
        </select>
      </>
    );
  }
  if (kind === "category") {
    return (
      <>
        {label}
        <select id={id} name={name} value={value || ""} onChange={(e) => onChange?.(e.target.value)}>
          {categories.filter((c) => c.leaf).map((c) => <option value={c.code} key={c.code}>{c.code} {c.name}</option>)}
        </select>
      </>
    );
  }
  if (kind === "textarea") return <>{label}<textarea id={id} name={name} required={required} rows={3}></textarea></>;
  return <>{label}<input id={id} name={name} type={kind === "number" ? "number" : "text"} required={required} defaultValue={preset} /></>;
}

function body(action, form) {
  const out = { action };
  for (const [name, kind] of FIELDS[action] || []) {
    const v = form.get(name);
    if (kind === "bool") out[name] = v === "on";
    else if (kind === "ids") out[name] = String(v || "").split(/[,，\s]+/).filter(Boolean).map(Number);
    else if (kind === "number") { if (v !== "" && v !== null) out[name] = Number(v); }
    else if (v !== "" && v !== null) out[name] = v;
  }
  return out;
}

function CaseMap({ c, outline, setOutline }) {
  useEffect(() => {
    api("GET", `/api/map/outline/${c.territory_code}`).then((o) => setOutline(o.geometry), () => {});
  }, [c.territory_code]);
  return <MapPick outline={outline} point={{ lon: c.lon, lat: c.lat }} onPick={() => {}} label={t("case.address")} />;
}

/// Names a building or a city component of the archives on the case, by its number.
function LinkRecord({ id, onLinked }) {
  const [error, setError] = useState(null);
  async function link(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    try {
      onLinked(await api("POST", `/api/archives/cases/${id}/links`, { record: f.get("record"), record_id: Number(f.get("record_id")) }));
      e.target.reset();
    } catch (err) {
      setError(err.message);
    }
  }
  return (
    <details class="action">
      <summary>{t("case.link")}</summary>
      <form onSubmit={link}>
        <label for="link-record">{t("case.link_kind")}</label>
        <select id="link-record" name="record">
          {["component", "building"].map((r) => (
            <option key={r} value={r}>{t(`archives.record.${r}`)}</option>
          ))}
        </select>
        <label for="link-id">{t("case.link_id")}</label>
        <input id="link-id" name="record_id" type="number" min="1" required />
        <p><button type="submit">{t("case.link_go")}</button></p>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </details>
  );
}

export function CaseDetail({ id, staff }) {
  const [c, setC] = useState(null);
  const [error, setError] = useState(null);
  const [categories, setCategories] = useState([]);
  const [photos, setPhotos] = useState([]);
  const [outline, setOutline] = useState(null);
  const [links, setLinks] = useState([]);
  const [warnings, setWarnings] = useState([]);
  const load = () => api("GET", `/api/cases/${id}`).then(setC, (e) => setError(e.message));
  const loadPhotos = () => api("GET", `/api/cases/${id}/attachments`).then(setPhotos, () => {});
  useEffect(() => {
    load();
    loadPhotos();
    api("GET", "/api/categories").then(setCategories, () => {});
    // The records of the archives the case names (none for someone who may not read them).
    if (staff) api("GET", `/api/archives/cases/${id}/links`).then(setLinks, () => setLinks([]));
    // The risk warnings the case is evidence of (none for someone who may not read them).
    if (staff) api("GET", `/api/cases/${id}/warnings`).then(setWarnings, () => setWarnings([]));
    return listen((ch) => (!ch || ch.case_id === Number(id)) && load());
  }, [id]);
  const [fileAs, setFileAs] = useState(null);
  async function act(action, e) {
    e.preventDefault();
    setError(null);
    try {
      setC(await api("POST", `/api/cases/${id}/actions`, body(action, new FormData(e.target))));
    } catch (err) {
      setError(err.field ? `${err.field}: ${err.message}` : err.message);
    }
  }
  async function upload(e) {
    const file = e.target.files[0];
    if (!file) return;
    setError(null);
    const r = await fetch(`/api/cases/${id}/attachments?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: { "x-csrf-token": sessionStorage.getItem("wuzhi.csrf") || "", "content-type": file.type || "application/octet-stream" },
      body: file,
    });
    if (!r.ok) setError((await r.json()).error?.message || `HTTP ${r.status}`);
    e.target.value = "";
    loadPhotos();
    load();
  }
  if (!c) return error ? <p class="error" role="alert">{error}</p> : null;
  const cat = categories.find((x) => x.code === c.category_code);
  // A component's owner unit is the one the dispatch offers first.
  const owner = links.find((l) => l.owner_org_id)?.owner_org_id;
  return (
    <>
      <section class="card">
        <h2>{t("case.title", { id: c.id })} · {c.subject}</h2>
        <dl class="facts">
          <dt>{t("case.status")}</dt>
          <dd><span class={`badge s-${c.status}`} data-testid="status">{t(`status.${c.status}`)}</span>{c.overdue && <span class="badge s-overdue">{t("case.overdue")}</span>}</dd>
          <dt>{t("case.category")}</dt><dd>{cat ? `${cat.name} (${c.category_code})` : c.category_code || "—"}</dd>
          <dt>{t("case.address")}</dt><dd>{c.address || c.territory_code}{c.lon ? ` · ${c.lon.toFixed(5)}, ${c.lat.toFixed(5)}` : ""}</dd>
          <dt>{t("case.due")}</dt><dd>{c.due_at_ms ? formatTime(c.due_at_ms) : "—"}</dd>
          <dt>{t("case.reporter")}</dt>
          <dd>{c.reporter.anonymous && !c.reporter.name ? t("case.anonymous") : [c.reporter.name, c.reporter.phone].filter(Boolean).join(" · ") || "—"}</dd>
          {c.satisfaction && <><dt>{t("case.satisfaction")}</dt><dd>{t(`sat.${c.satisfaction}`)}</dd></>}
        </dl>
        <p>{c.description}</p>
        {c.lon !== null && <CaseMap c={c} outline={outline} setOutline={setOutline} />}
        <p><a href={`#/public/${c.id}`}>{t("case.public")}</a></p>
        {warnings.length > 0 && (
          <p data-testid="case-warnings">
            {t("case.warnings")}：
            {warnings.map((w) => (
              <a key={w.id} href={`#/warnings/${w.id}`} class={`badge lv-${w.level}`}>{t(`warn.level.${w.level}`)} · {t(`warn.rule.${w.rule}`)}</a>
            ))}
          </p>
        )}
        {staff && <LinkRecord id={id} onLinked={(l) => setLinks([...links, l])} />}
        {links.length > 0 && (
          <>
            <h3>{t("case.archives")}</h3>
            <ul data-testid="case-archives">
              {links.map((l) => (
                <li key={`${l.record}-${l.record_id}`}>
                  {t(`archives.record.${l.record}`)}：
                  {l.record === "building" ? <a href={`#/archives/buildings/${l.record_id}`}>{l.label}</a> : l.label}
                  {l.owner_org_name && ` · ${t("case.owner_unit", { unit: l.owner_org_name })}`}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      <section class="card">
        <h2>{t("case.photos")}</h2>
        <div class="photos">
          {photos.filter((a) => a.content_type.startsWith("image/")).map((a) => (
            <a href={a.url} key={a.id}><img src={a.url} alt={a.name} loading="lazy" /></a>
          ))}
        </div>
        <label for="c-photo">{t("case.upload")}</label>
        <input id="c-photo" type="file" accept="image/*,application/pdf" onChange={upload} />
      </section>
      {c.actions.length > 0 && (
        <section class="card">
          <h2>{t("case.actions")}</h2>
          {error && <p class="error" role="alert">{error}</p>}
          {c.actions.map((a) => (
            <details key={a} class="action" open={(c.actions.length <= 3 && a !== "comment") || a === "file"}>
              <summary>{t(`action.${a}`)}</summary>
              {a === "file" && <Suggestions subject={c.subject} detail={c.description} onPick={setFileAs} />}
              <form onSubmit={(e) => act(a, e)} aria-label={t(`action.${a}`)}>
                {(FIELDS[a] || []).map(([name, kind, required]) => (
                  <Field key={name} action={a} name={name} kind={kind} required={required} categories={categories} value={a === "file" ? fileAs || c.category_code : c.category_code} onChange={setFileAs} preset={a === "dispatch" && name === "org_id" ? owner : undefined} />
                ))}
                <p><button type="submit">{t(`action.${a}`)}</button></p>
              </form>
            </details>
          ))}
        </section>
      )}
      {c.actions.includes("merge") && <SimilarCases id={c.id} canMerge onMerged={setC} />}
      <section class="card">
        <h2>{t("case.timeline")}</h2>
        <ol class="timeline">
          {(c.timeline || []).map((e) => (
            <li key={e.seq}>
              <strong>{t(`event.${e.kind}`)}</strong> <span class="muted">{formatTime(e.at_ms)}</span>
              {e.data?.by === "model" && <div class="muted">{t("text.by_model", { v: e.data.model_version, p: Math.round(e.data.confidence * 100) })}</div>}
              {["reason", "result", "note", "text"].map((k) => e.data?.[k] && <div key={k}>{e.data[k]}</div>)}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}

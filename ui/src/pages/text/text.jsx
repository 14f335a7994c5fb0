// Text intelligence on the pages: category suggestions while a report is written, the
// "this may already be reported" warning with a support button, merge candidates on a
// case, full-text search, hot topics, and the classifier's administration.
import { useEffect, useState } from "preact/hooks";
import { api, debounce, followJob } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const pct = (v) => `${Math.round(v * 100)}%`;
/// Server-escaped HTML with <mark> highlights (the server escapes every other character).
const Marked = ({ html, tag = "span" }) => {
  const Tag = tag;
  return <Tag dangerouslySetInnerHTML={{ __html: html }} />;
};

/// Suggested categories for a text; `onPick(code)` for a leaf.
export function Suggestions({ subject, detail, onPick }) {
  const [s, setS] = useState(null);
  const [run] = useState(() =>
    debounce((subject, detail) => {
      if ((subject + detail).trim().length < 4) return setS(null);
      api("POST", "/api/classify", { subject, detail }).then(setS, () => setS(null));
    }, 400),
  );
  useEffect(() => run(subject, detail), [subject, detail]);
  if (!s || s.suggestions.length === 0) return null;
  return (
    <p class="suggestions" data-testid="suggestions" aria-live="polite">
      {t("text.suggested")}{" "}
      {s.suggestions.map((x) => (
        <button
          type="button"
          class="quiet chip"
          key={x.code}
          title={x.path.join(" › ")}
          onClick={() => x.leaf && onPick?.(x.code)}
          aria-disabled={!x.leaf}
        >
          {x.path.slice(1).join(" › ") || x.name} · {pct(x.confidence)}
        </button>
      ))}
    </p>
  );
}

function CandidateList({ list, children }) {
  return (
    <ul class="case-list">
      {list.map((c) => (
        <li key={c.id}>
          <a href={`#/public/${c.id}`}>#{c.id} {c.subject}</a> <span class={`badge s-${c.status}`}>{t(`status.${c.status}`)}</span>
          <br />
          <span class="muted">
            {formatTime(c.created_at_ms)}
            {c.distance_m !== null && c.distance_m !== undefined && ` · ${t("text.distance", { m: Math.round(c.distance_m) })}`}
            {` · ${t("text.similarity", { p: pct(c.similarity) })}`}
            {c.supports > 0 && ` · ${t("text.supports", { n: c.supports })}`}
          </span>{" "}
          {children(c)}
        </li>
      ))}
    </ul>
  );
}

/// The reporter's warning: open cases nearby that read like the draft, each with "me too".
export function Duplicates({ draft }) {
  const [list, setList] = useState([]);
  const [supported, setSupported] = useState({});
  const [run] = useState(() =>
    debounce((d) => {
      if (!d.lon || (d.subject + d.detail).trim().length < 4) return setList([]);
      api("POST", "/api/cases/similar", d).then(setList, () => setList([]));
    }, 500),
  );
  useEffect(() => run(draft), [draft.subject, draft.detail, draft.lon, draft.lat]);
  const open = list.filter((c) => !["closed", "rejected"].includes(c.status));
  if (open.length === 0) return null;
  async function support(id) {
    const r = await api("POST", `/api/cases/${id}/support`);
    setSupported((s) => ({ ...s, [id]: r.supports }));
  }
  return (
    <div class="warning" role="region" aria-label={t("text.maybe_reported")} data-testid="duplicates">
      <p><strong>{t("text.maybe_reported")}</strong> {t("text.maybe_reported_hint")}</p>
      <CandidateList list={open}>
        {(c) =>
          supported[c.id] !== undefined ? (
            <span role="status">{t("text.supported", { n: supported[c.id] })}</span>
          ) : (
            <button type="button" class="quiet" onClick={() => support(c.id)}>{t("text.support")}</button>
          )
        }
      </CandidateList>
    </div>
  );
}

/// Merge candidates of a case, for whoever may merge it.
export function SimilarCases({ id, canMerge, onMerged }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api("GET", `/api/cases/${id}/similar`).then(setList, () => setList([]));
  }, [id]);
  if (!list || list.length === 0) return null;
  async function merge(into) {
    setError(null);
    try {
      onMerged(await api("POST", `/api/cases/${id}/actions`, { action: "merge", into }));
    } catch (e) {
      setError(e.message);
    }
  }
  return (
    <section class="card" data-testid="similar">
      <h2>{t("text.similar")}</h2>
      {error && <p class="error" role="alert">{error}</p>}
      <CandidateList list={list}>
        {(c) =>
          canMerge && !["closed", "rejected"].includes(c.status) ? (
            <button type="button" onClick={() => merge(c.id)}>{t("text.merge_into", { id: c.id })}</button>
          ) : null
        }
      </CandidateList>
    </section>
  );
}

const STATUSES = ["", "reported", "filed", "dispatched", "handling", "handled", "closed"];
const CHANNELS = ["", "app", "hotline", "grid", "sensor", "open311"];

/// Full-text search over the cases this person may read.
export function Search() {
  const [q, setQ] = useState(new URLSearchParams(location.hash.split("?")[1] || "").get("q") || "");
  const [f, setF] = useState({ status: "", channel: "", from: "", to: "", sort: "relevance" });
  const [r, setR] = useState(null);
  const [error, setError] = useState(null);
  const [more, setMore] = useState(0);
  const go = (e, offset = 0) => {
    e?.preventDefault();
    setError(null);
    const p = new URLSearchParams({ q, limit: "20", offset: String(offset), ...f });
    for (const [k, v] of [...p]) if (!v) p.delete(k);
    api("GET", `/api/search?${p}`).then(
      (x) => {
        setR(offset ? { ...x, hits: [...r.hits, ...x.hits] } : x);
        setMore(offset + x.hits.length);
      },
      (err) => setError(err.field ? `${err.field}: ${err.message}` : err.message),
    );
  };
  useEffect(() => {
    if (q) go();
  }, []);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  return (
    <section class="card">
      <h2>{t("text.search")}</h2>
      <form onSubmit={go} role="search" class="search-form">
        <label for="s-q">{t("text.search_words")}</label>
        <input id="s-q" type="search" value={q} onInput={(e) => setQ(e.target.value)} placeholder={t("text.search_placeholder")} />
        <div class="filters">
          <label>{t("case.status")} <select value={f.status} onChange={set("status")}>{STATUSES.map((s) => <option key={s} value={s}>{s ? t(`status.${s}`) : t("filter.all")}</option>)}</select></label>
          <label>{t("text.channel")} <select value={f.channel} onChange={set("channel")}>{CHANNELS.map((s) => <option key={s} value={s}>{s ? t(`channel.${s}`) : t("filter.all")}</option>)}</select></label>
          <label>{t("text.from")} <input type="date" value={f.from} onInput={set("from")} /></label>
          <label>{t("text.to")} <input type="date" value={f.to} onInput={set("to")} /></label>
          <label>{t("text.sort")} <select value={f.sort} onChange={set("sort")}><option value="relevance">{t("text.sort.relevance")}</option><option value="newest">{t("text.sort.newest")}</option></select></label>
        </div>
        <p><button type="submit">{t("text.search_go")}</button></p>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {r && <p role="status" data-testid="search-total">{t("text.found", { n: r.total })}</p>}
      {r && (
        <ol class="case-list results">
          {r.hits.map((h) => (
            <li key={h.case.id}>
              <a href={`#/cases/${h.case.id}`}><strong>#{h.case.id} <Marked html={h.subject_html} /></strong></a>{" "}
              <span class={`badge s-${h.case.status}`}>{t(`status.${h.case.status}`)}</span>
              <br />
              <Marked html={h.snippet_html} tag="span" />
              <br />
              <span class="muted">{formatTime(h.case.created_at_ms)} · {h.case.territory_code}</span>
            </li>
          ))}
        </ol>
      )}
      {r && more < r.total && <p><button type="button" class="quiet" onClick={() => go(null, more)}>{t("text.more")}</button></p>}
    </section>
  );
}

/// The dashboard's hot topics: what many residents raised or supported lately.
export function HotTopics() {
  const [days, setDays] = useState(30);
  const [h, setH] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api("GET", `/api/hot-topics?days=${days}&limit=10`).then(setH, (e) => setError(e.message));
  }, [days]);
  return (
    <section class="card" data-testid="hot-topics">
      <h2>{t("text.hot")}</h2>
      <p class="filters" role="group" aria-label={t("text.period")}>
        {[7, 30, 90].map((d) => (
          <button key={d} type="button" class={d === days ? "" : "quiet"} aria-pressed={d === days} onClick={() => setDays(d)}>{t("text.days", { n: d })}</button>
        ))}
      </p>
      {error && <p class="error" role="alert">{error}</p>}
      {h && h.topics.length === 0 && <p class="muted">{t("text.no_hot")}</p>}
      {h && (
        <ol class="hot">
          {h.topics.map((x, i) => (
            <li key={i}>
              <details>
                <summary>
                  <strong>{x.title}</strong> <span class="badge">{t("text.heat", { n: x.heat })}</span>
                  <br />
                  <span class="muted">{x.keywords.filter((k) => !/^[a-z]\d+$/.test(k)).join(" · ")} — {t("text.topic_counts", { cases: x.cases, supports: x.supports })}</span>
                </summary>
                <ul>
                  {x.members.map((m) => (
                    <li key={m.id}><a href={`#/cases/${m.id}`}>#{m.id} {m.subject}</a> <span class="muted">{formatTime(m.created_at_ms)}{m.supports > 0 && ` · ${t("text.supports", { n: m.supports })}`}</span></li>
                  ))}
                </ul>
              </details>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/// Administration: train and choose classifier versions, set the automatic dispatch
/// threshold, rebuild the search index.
export function TextAdmin() {
  const [models, setModels] = useState([]);
  const [settings, setSettings] = useState(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const load = () => {
    api("GET", "/api/classifier/models").then(setModels, (e) => setError(e.message));
    api("GET", "/api/classifier/settings").then(setSettings, () => {});
  };
  useEffect(load, []);
  const wrap = (f) => async (...a) => {
    setError(null);
    setMsg(null);
    setBusy(true);
    try {
      await f(...a);
    } catch (e) {
      setError(e.field ? `${e.field}: ${e.message}` : e.message);
    } finally {
      setBusy(false);
      load();
    }
  };
  // Training runs as a background job on the server: follow it until it ends.
  const train = wrap(async () => {
    const job = await followJob(await api("POST", "/api/classifier/models"), (j) =>
      setMsg(t("text.training_stage", { stage: t(`text.stage.${j.stage || "queued"}`), p: Math.round(j.progress * 100) })),
    );
    const m = job.result;
    setMsg(t("text.trained", { v: m.version, f1: m.macro_f1.toFixed(4), n: m.examples }));
  });
  const activate = wrap(async (v) => api("POST", `/api/classifier/models/${v}/activate`));
  const save = wrap(async (e) => {
    e.preventDefault();
    const v = new FormData(e.target).get("threshold");
    await api("PUT", "/api/classifier/settings", { auto_dispatch_threshold: v === "" ? null : Number(v) });
    setMsg(t("text.saved"));
  });
  const rebuild = wrap(async () => {
    const r = await api("POST", "/api/search/rebuild");
    setMsg(t("text.rebuilding", { g: r.generation }));
  });
  const active = models.find((m) => m.active);
  return (
    <>
      <section class="card">
        <h2>{t("text.classifier")}</h2>
        <p class="muted">{t("text.classifier_intro")}</p>
        <p><button type="button" disabled={busy} onClick={train}>{busy ? t("text.training") : t("text.train")}</button></p>
        {msg && <p role="status" data-testid="text-msg">{msg}</p>}
        {error && <p class="error" role="alert">{error}</p>}
        {models.length > 0 && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t("text.versions")}>
            <table>
              <caption>{t("text.versions")}</caption>
              <thead><tr><th scope="col">{t("text.version")}</th><th scope="col">{t("text.trained_at")}</th><th scope="col">{t("text.examples")}</th><th scope="col">macro-F1</th><th scope="col">{t("text.accuracy")}</th><th scope="col"></th></tr></thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.version}>
                    <td>{m.version}</td><td>{formatTime(m.created_at_ms)}</td><td>{m.examples}</td><td>{m.macro_f1.toFixed(4)}</td><td>{m.accuracy.toFixed(4)}</td>
                    <td>{m.active ? <strong>{t("text.active")}</strong> : <button type="button" class="quiet" onClick={() => activate(m.version)}>{t("text.activate")}</button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {active && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t("text.per_class")}>
            <table data-testid="per-class">
              <caption>{t("text.per_class")}</caption>
              <thead><tr><th scope="col">{t("case.category")}</th><th scope="col">{t("text.precision")}</th><th scope="col">{t("text.recall")}</th><th scope="col">F1</th><th scope="col">{t("text.support_n")}</th></tr></thead>
              <tbody>{active.classes.map((c) => <tr key={c.code}><td>{c.name} ({c.code})</td><td>{c.precision.toFixed(3)}</td><td>{c.recall.toFixed(3)}</td><td>{c.f1.toFixed(3)}</td><td>{c.support}</td></tr>)}</tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card">
        <h2>{t("text.auto")}</h2>
        <p class="muted">{t("text.auto_intro")}</p>
        {active && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t("text.thresholds")}>
            <table>
              <caption>{t("text.thresholds")}</caption>
              <thead><tr><th scope="col">{t("text.threshold")}</th><th scope="col">{t("text.coverage")}</th><th scope="col">{t("text.precision")}</th></tr></thead>
              <tbody>{active.thresholds.map((x) => <tr key={x.threshold}><td>{x.threshold.toFixed(2)}</td><td>{pct(x.coverage)}</td><td>{(x.precision * 100).toFixed(1)}%</td></tr>)}</tbody>
            </table>
          </div>
        )}
        {settings && (
          <form onSubmit={save}>
            <label for="t-threshold">{t("text.threshold_label")}</label>
            <input id="t-threshold" name="threshold" type="number" min="0.5" max="1" step="0.01" value={settings.auto_dispatch_threshold ?? ""} />
            <p><button type="submit" disabled={busy}>{t("text.save")}</button></p>
          </form>
        )}
      </section>
      <section class="card">
        <h2>{t("text.index")}</h2>
        <p class="muted">{t("text.index_intro")}</p>
        <p><button type="button" disabled={busy} onClick={rebuild}>{t("text.rebuild")}</button></p>
      </section>
    </>
  );
}

// Risk early warning (风险隐患监测预警): the warnings of one's territories with the digest of
// the last 24 hours, each warning's page (why it was raised, observed against expected, its
// evidence cases, its timeline and the steps of its lifecycle), and for administrators the
// detectors' parameters and the sensitive-word lexicon.
import { useEffect, useState } from "preact/hooks";
import { api, listen, debounce } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const LEVELS = ["red", "orange", "yellow", "blue"];
const RULES = ["spike", "repeat", "unsolved", "sensitive", "failing_unit", "sensor_storm"];
const STATUSES = ["new", "acknowledged", "assigned", "resolved", "false_alarm"];

export function LevelBadge({ level }) {
  return <span class={`badge lv-${level}`} data-testid="level">{t(`warn.level.${level}`)}</span>;
}

/// Observed against expected, as a small chart: a bar per point, the expectation as a line.
function Chart({ points }) {
  if (points.length === 0) return <p class="muted">{t("warn.no_points")}</p>;
  const w = 320;
  const h = 120;
  const max = Math.max(1, ...points.map((p) => Math.max(p.observed, p.expected)));
  const step = w / points.length;
  const y = (v) => h - 16 - (v / max) * (h - 28);
  const line = points.map((p, i) => `${i === 0 ? "M" : "L"}${(i + 0.5) * step},${y(p.expected)}`).join(" ");
  return (
    <figure class="warn-chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={t("warn.chart")} data-testid="warn-chart">
        {points.map((p, i) => (
          <rect key={p.at_ms} x={i * step + step * 0.15} width={step * 0.7} y={y(p.observed)} height={h - 16 - y(p.observed)} class="obs">
            <title>{`${formatTime(p.at_ms)} · ${t("warn.observed")} ${p.observed} · ${t("warn.expected")} ${p.expected.toFixed(2)}`}</title>
          </rect>
        ))}
        <path d={line} class="exp" fill="none" />
        <line x1="0" x2={w} y1={h - 16} y2={h - 16} class="axis" />
        <text x="2" y={h - 3} class="tick">{formatTime(points[0].at_ms)}</text>
        <text x={w - 2} y="12" class="tick" text-anchor="end">{max}</text>
      </svg>
      <figcaption class="muted">
        <span class="key obs" /> {t("warn.observed")} <span class="key exp" /> {t("warn.expected")}
      </figcaption>
    </figure>
  );
}

function Steps({ w, onDone }) {
  const [error, setError] = useState(null);
  const [orgs, setOrgs] = useState([]);
  const [filter, setFilter] = useState("");
  const can = (a) => w.actions.includes(a);
  useEffect(() => {
    if (!can("assign")) return;
    api("GET", `/api/warnings/${w.id}/units`).then(setOrgs, () => setOrgs([]));
  }, [w.id, w.actions.join()]);
  async function step(body) {
    setError(null);
    try {
      onDone(await api("POST", `/api/warnings/${w.id}/actions`, { version: w.version, ...body }));
    } catch (e) {
      setError(e.message);
    }
  }
  if (w.actions.length === 0) return null;
  const shown = orgs.filter((o) => !filter || o.name.includes(filter));
  return (
    <section aria-label={t("warn.steps")} class="warn-steps">
      {can("acknowledge") && (
        <form onSubmit={(e) => (e.preventDefault(), step({ action: "acknowledge", note: new FormData(e.target).get("note") || null }))}>
          <label>{t("warn.note")}<input name="note" maxLength={500} /></label>
          <button type="submit">{t("warn.acknowledge")}</button>
        </form>
      )}
      {can("assign") && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.target);
            const due = new Date(`${f.get("due")}T18:00:00+08:00`).getTime();
            step({ action: "assign", org_id: Number(f.get("org")), due_ms: due, note: f.get("note") || null });
          }}
        >
          <label>{t("warn.find_unit")}<input value={filter} onInput={(e) => setFilter(e.target.value)} placeholder={t("warn.find_unit_hint")} /></label>
          <label>{t("warn.unit")}
            <select name="org" required>
              {shown.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
            </select>
          </label>
          <label>{t("warn.due")}<input name="due" type="date" required /></label>
          <label>{t("warn.note")}<input name="note" maxLength={500} /></label>
          <button type="submit">{t("warn.assign")}</button>
        </form>
      )}
      {(can("resolve") || can("dismiss")) && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.target);
            step({ action: e.submitter?.value || "resolve", reason: f.get("reason") });
          }}
        >
          <label>{t("warn.reason")}<textarea name="reason" rows={2} maxLength={2000} required /></label>
          {can("resolve") && <button type="submit" value="resolve">{t("warn.resolve")}</button>}{" "}
          {can("dismiss") && <button type="submit" value="dismiss" class="quiet">{t("warn.dismiss")}</button>}
        </form>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}

export function WarningDetail({ id }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api("GET", `/api/warnings/${id}`).then(setPage, (e) => setError(e.message));
  useEffect(() => {
    load();
    return listen(debounce(load, 500));
  }, [id]);
  if (error) return <section class="card"><p class="error" role="alert">{error}</p></section>;
  if (!page) return <section class="card"><p class="muted">{t("loading")}</p></section>;
  const w = page.warning;
  return (
    <section class="card" data-testid="warning">
      <p><a href="#/warnings">← {t("nav.warnings")}</a></p>
      <h2>
        <LevelBadge level={w.level} /> {t(`warn.rule.${w.rule}`)} · {w.territory_name}
      </h2>
      <p class="warn-reason" data-testid="warn-reason">{w.reason}</p>
      <dl class="facts">
        <dt>{t("warn.status")}</dt><dd><span class={`badge ws-${w.status}`}>{t(`warn.status.${w.status}`)}</span>{w.overdue && <span class="badge s-overdue">{t("warn.overdue")}</span>}</dd>
        {w.category_name && <><dt>{t("cases.col.category")}</dt><dd>{w.category_name}</dd></>}
        <dt>{t("warn.raised")}</dt><dd>{formatTime(w.raised_at_ms)}</dd>
        <dt>{t("warn.first_case")}</dt><dd>{formatTime(w.first_case_at_ms)}</dd>
        <dt>{t("warn.evidence")}</dt><dd>{t("warn.n_cases", { n: w.cases })} · {t("warn.observed")} {w.observed}{w.expected > 0 ? ` · ${t("warn.expected")} ${w.expected.toFixed(2)}` : ""}</dd>
        {w.unit_name && <><dt>{t("warn.unit")}</dt><dd>{w.unit_name}{w.due_at_ms && ` · ${t("warn.due_at", { at: formatTime(w.due_at_ms) })}`}</dd></>}
        <dt>{t("warn.rule_version")}</dt><dd>{t(`warn.rule.${w.rule}`)} · v{w.rule_version}</dd>
      </dl>
      {(w.rule === "spike" || w.rule === "failing_unit" || page.points.length > 1) && <Chart points={page.points} />}
      <Steps w={w} onDone={setPage} />
      <h3>{t("warn.evidence")}</h3>
      <ul data-testid="evidence">
        {page.evidence.map((c) => (
          <li key={c.id}>
            <a href={`#/cases/${c.id}`}>#{c.id} {c.subject}</a> <span class="muted">{c.territory_name} · {formatTime(c.created_at_ms)}</span>{" "}
            <span class={`badge s-${c.status}`}>{t(`status.${c.status}`)}</span>
          </li>
        ))}
      </ul>
      <h3>{t("warn.timeline")}</h3>
      <ol class="timeline" data-testid="warn-timeline">
        {page.timeline.map((e, i) => (
          <li key={i}>
            <strong>{t(`warn.event.${e.kind}`)}</strong> · {e.actor_name || t("warn.system")} · <span class="muted">{formatTime(e.at_ms)}</span>
            {e.data.note && <div>{e.data.note}</div>}
            {e.data.reason && <div>{e.data.reason}</div>}
            {e.kind === "level_raised" && <div>{t(`warn.level.${e.data.from}`)} → {t(`warn.level.${e.data.to}`)}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Digest({ digest }) {
  if (!digest) return null;
  return (
    <section class="card digest" aria-label={t("warn.digest")} data-testid="digest">
      <h3>{t("warn.digest")}</h3>
      <p>{t("warn.digest_line", { n: digest.raised, open: digest.still_open })}</p>
      <ul class="levels">
        {LEVELS.map((l) => (
          <li key={l}><LevelBadge level={l} /> {digest.by_level[l] || 0}</li>
        ))}
      </ul>
      <p class="muted">{RULES.filter((r) => digest.by_rule[r]).map((r) => `${t(`warn.rule.${r}`)} ${digest.by_rule[r]}`).join(" · ") || "—"}</p>
    </section>
  );
}

export function Warnings({ me, query }) {
  const [filters, setFilters] = useState({ level: "", rule: "", status: "", territory: query.get("territory") || "" });
  const [rows, setRows] = useState(null);
  const [digest, setDigest] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => listen(debounce(() => setTick((n) => n + 1), 500)), []);
  useEffect(() => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    if (filters.status === "all") {
      q.delete("status");
      q.set("open", "false");
    }
    let current = true;
    api("GET", `/api/warnings?${q}`).then((r) => current && (setRows(r), setError(null)), (e) => current && setError(e.message));
    api("GET", "/api/warnings/digest").then((d) => current && setDigest(d), () => {});
    return () => {
      current = false;
    };
  }, [filters, tick]);
  const isAdmin = me.grants.some((g) => g.role === "admin");
  return (
    <>
      <Digest digest={digest} />
      <section class="card">
        <h2>{t("nav.warnings")}</h2>
        {isAdmin && <p><a href="#/warnings/settings">{t("warn.settings")}</a></p>}
        <form class="map-filters" aria-label={t("map.filters")} onSubmit={(e) => e.preventDefault()}>
          <label>{t("warn.level")}
            <select value={filters.level} onChange={(e) => setFilters({ ...filters, level: e.target.value })}>
              <option value="">{t("filter.all")}</option>
              {LEVELS.map((l) => <option key={l} value={l}>{t(`warn.level.${l}`)}</option>)}
            </select>
          </label>
          <label>{t("warn.rule")}
            <select value={filters.rule} onChange={(e) => setFilters({ ...filters, rule: e.target.value })}>
              <option value="">{t("filter.all")}</option>
              {RULES.map((r) => <option key={r} value={r}>{t(`warn.rule.${r}`)}</option>)}
            </select>
          </label>
          <label>{t("warn.status")}
            <select value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value })}>
              <option value="">{t("warn.open_only")}</option>
              <option value="all">{t("filter.all")}</option>
              {STATUSES.map((s) => <option key={s} value={s}>{t(`warn.status.${s}`)}</option>)}
            </select>
          </label>
        </form>
        {error && <p class="error" role="alert">{error}</p>}
        {rows && rows.length === 0 && <p class="muted" data-testid="no-warnings">{t("warn.none")}</p>}
        {rows && rows.length > 0 && (
          <ul class="warn-list" data-testid="warnings">
            {rows.map((w) => (
              <li key={w.id} class={`lv-edge-${w.level}`}>
                <a href={`#/warnings/${w.id}`}>
                  <LevelBadge level={w.level} /> <strong>{t(`warn.rule.${w.rule}`)}</strong> · {w.territory_name}
                </a>
                <div>{w.reason}</div>
                <div class="muted">
                  {formatTime(w.raised_at_ms)} · {t("warn.n_cases", { n: w.cases })} · <span class={`badge ws-${w.status}`}>{t(`warn.status.${w.status}`)}</span>
                  {w.unit_name && ` · ${w.unit_name}`}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

/// Administrators: the lexicon and the city's parameters.
export function WarningSettings() {
  const [lexicon, setLexicon] = useState([]);
  const [rules, setRules] = useState(null);
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(null);
  const load = () => {
    api("GET", "/api/warnings/lexicon").then(setLexicon, (e) => setError(e.message));
    api("GET", "/api/warnings/rules").then((r) => {
      setRules(r);
      setText(JSON.stringify(r.find((x) => x.territory_code === "")?.params ?? r[0].params, null, 2));
    }, (e) => setError(e.message));
  };
  useEffect(load, []);
  async function put(item) {
    setError(null);
    try {
      await api("PUT", "/api/warnings/lexicon", item);
      load();
    } catch (e) {
      setError(e.message);
    }
  }
  async function saveRules(e) {
    e.preventDefault();
    setError(null);
    setSaved(null);
    let params;
    try {
      params = JSON.parse(text);
    } catch (x) {
      return setError(t("warn.bad_json", { message: x.message }));
    }
    try {
      const r = await api("PUT", "/api/warnings/rules/city", params);
      setSaved(t("warn.saved", { v: r.version }));
      load();
    } catch (x) {
      setError(x.message);
    }
  }
  return (
    <section class="card">
      <p><a href="#/warnings">← {t("nav.warnings")}</a></p>
      <h2>{t("warn.settings")}</h2>
      {error && <p class="error" role="alert">{error}</p>}
      <h3>{t("warn.lexicon")}</h3>
      <form
        class="search"
        aria-label={t("warn.add_phrase")}
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.target);
          put({ phrase: f.get("phrase"), class: f.get("class"), level: f.get("level"), categories: [], active: true });
          e.target.reset();
        }}
      >
        <input name="phrase" required placeholder={t("warn.phrase")} aria-label={t("warn.phrase")} />
        <select name="class" aria-label={t("warn.class")}>
          {["life", "group", "safety"].map((c) => <option key={c} value={c}>{t(`warn.class.${c}`)}</option>)}
        </select>
        <select name="level" aria-label={t("warn.level")}>
          {LEVELS.map((l) => <option key={l} value={l}>{t(`warn.level.${l}`)}</option>)}
        </select>
        <button type="submit">{t("warn.add_phrase")}</button>
      </form>
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t("warn.lexicon")}>
        <table data-testid="lexicon">
          <thead><tr><th scope="col">{t("warn.phrase")}</th><th scope="col">{t("warn.class")}</th><th scope="col">{t("warn.level")}</th><th scope="col">{t("warn.active")}</th></tr></thead>
          <tbody>
            {lexicon.map((x) => (
              <tr key={x.phrase}>
                <td>{x.phrase}</td>
                <td>{t(`warn.class.${x.class}`)}</td>
                <td><LevelBadge level={x.level} /></td>
                <td>
                  <label class="inline"><input type="checkbox" checked={x.active} onChange={(e) => put({ ...x, active: e.target.checked })} /> {x.active ? t("warn.on") : t("warn.off")}</label>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>{t("warn.params")}</h3>
      {rules && <p class="muted">{t("warn.params_hint", { n: rules.length })}</p>}
      <form onSubmit={saveRules}>
        <textarea class="code" rows={18} value={text} onInput={(e) => setText(e.target.value)} aria-label={t("warn.params")} spellcheck={false} />
        <p><button type="submit">{t("warn.save_params")}</button> {saved && <span role="status">{saved}</span>}</p>
      </form>
    </section>
  );
}

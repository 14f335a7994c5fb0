// Grid work on the phone (网格工作): a patrol with its track, findings and quick notes on
// the way, the households to visit and the visit's record, and one's own week. Everything
// written goes through the outbox (queue.js), so it keeps working without a network and
// says how much is waiting; nothing here counts anyone's online time or ranks them.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, debounce } from "../../api.js";
import { t, formatTime } from "../../i18n.js";
import { enqueue, flush, newKey, onChange, state, dismissFailed } from "./queue.js";

const NOTE_KINDS = ["worry", "hazard", "need", "other"];
const WAYS = ["home", "phone", "met"];
const OUTCOMES = ["well", "needs_help", "not_home", "moved"];
/// A point at most every 30 seconds, sent ten at a time.
const POINT_EVERY_MS = 30000;
const POINTS_PER_UPLOAD = 10;

const saved = (k, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(k)) ?? fallback;
  } catch {
    return fallback;
  }
};
const save = (k, v) => (v === null ? localStorage.removeItem(k) : localStorage.setItem(k, JSON.stringify(v)));

/// The outbox's state, shown on every grid-work page.
export function Outbox() {
  const [s, setS] = useState(null);
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const load = () => state().then(setS, () => {});
    load();
    const off = onChange(load);
    const on = () => setOnline(navigator.onLine);
    addEventListener("online", on);
    addEventListener("offline", on);
    return () => {
      off();
      removeEventListener("online", on);
      removeEventListener("offline", on);
    };
  }, []);
  if (!s) return null;
  return (
    <section class="card outbox" aria-label={t("gw.outbox")}>
      <p role="status" data-testid="queue-count">
        <span class={online ? "badge s-closed" : "badge s-overdue"}>{online ? t("gw.online") : t("gw.offline")}</span>{" "}
        {s.waiting === 0 ? t("gw.all_sent") : t("gw.waiting", { n: s.waiting })}
        {s.problem === "signin" && <> · {t("gw.signin_again")}</>}
      </p>
      {s.waiting > 0 && online && (
        <button type="button" class="quiet" onClick={() => flush()}>
          {t("gw.send_now")}
        </button>
      )}
      {s.failed.map((f) => (
        <p class="error" key={f.seq}>
          {t("gw.refused", { what: f.label || f.path, why: f.error })}{" "}
          <button type="button" class="link" onClick={() => dismissFailed(f.seq)}>
            {t("gw.dismiss")}
          </button>
        </p>
      ))}
    </section>
  );
}

/// Where the phone is, if it says (null otherwise): never asked for more than the work needs.
function here() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 },
    );
  });
}

/// A patrol: started and ended here, its track taken only while it runs.
function Patrol({ grid, plans }) {
  const [run, setRun] = useState(saved("wuzhi.patrol", null));
  const [points, setPoints] = useState(0);
  const [error, setError] = useState(null);
  const watch = useRef(null);
  const buffer = useRef([]);

  async function upload(r, force) {
    const pts = buffer.current;
    if (pts.length === 0 || (!force && pts.length < POINTS_PER_UPLOAD)) return;
    buffer.current = [];
    const seq = r.seq;
    const next = { ...r, seq: seq + 1 };
    save("wuzhi.patrol", next);
    setRun(next);
    await enqueue({ path: `/api/gridwork/patrols/{patrol:${r.key}}/track`, body: { seq, points: pts }, label: t("gw.track") });
  }

  useEffect(() => {
    if (!run || !navigator.geolocation) return;
    let last = 0;
    watch.current = navigator.geolocation.watchPosition(
      (p) => {
        const now = Date.now();
        if (now - last < POINT_EVERY_MS && buffer.current.length > 0) return;
        last = now;
        buffer.current.push({ at_ms: now, lat: p.coords.latitude, lon: p.coords.longitude });
        setPoints((n) => n + 1);
        upload(saved("wuzhi.patrol", run), false);
      },
      () => {},
      { enableHighAccuracy: true, maximumAge: 10000 },
    );
    return () => navigator.geolocation.clearWatch(watch.current);
  }, [run?.key]);

  async function start(e) {
    e.preventDefault();
    setError(null);
    const plan = new FormData(e.target).get("plan");
    const key = newKey("patrol");
    const r = { key, grid: grid.code, started_at_ms: Date.now(), seq: 0 };
    save("wuzhi.patrol", r);
    setRun(r);
    setPoints(0);
    await enqueue({
      path: "/api/gridwork/patrols",
      body: { grid_code: grid.code, plan_id: plan ? Number(plan) : null, started_at_ms: r.started_at_ms, idempotency_key: key },
      label: t("gw.start"),
      resolves: `patrol:${key}`,
    });
  }

  async function end() {
    await upload(run, true);
    await enqueue({
      path: `/api/gridwork/patrols/{patrol:${run.key}}/end`,
      body: { ended_at_ms: Date.now(), note: "" },
      label: t("gw.end"),
    });
    save("wuzhi.patrol", null);
    setRun(null);
  }

  return (
    <section class="card" aria-labelledby="patrol-title">
      <h2 id="patrol-title">{t("gw.patrol")}</h2>
      {run ? (
        <>
          <p data-testid="patrol-running">
            {t("gw.running_since", { at: formatTime(run.started_at_ms) })} · {t("gw.points", { n: points })}
          </p>
          <p class="muted">{t("gw.track_purpose")}</p>
          <p>
            <button type="button" onClick={end}>
              {t("gw.end")}
            </button>
          </p>
          <Finding patrolKey={run.key} grid={grid} />
        </>
      ) : (
        <form onSubmit={start}>
          {plans.length > 0 && (
            <>
              <label for="plan">{t("gw.plan")}</label>
              <select id="plan" name="plan">
                <option value="">{t("gw.no_plan")}</option>
                {plans.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} · {p.places.join("、")}
                  </option>
                ))}
              </select>
            </>
          )}
          <p>
            <button type="submit">{t("gw.start")}</button>
          </p>
          {error && <p class="error" role="alert">{error}</p>}
        </form>
      )}
    </section>
  );
}

/// A problem found on the patrol: a case of the grid, linked to the patrol.
function Finding({ patrolKey, grid }) {
  const [done, setDone] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const at = await here();
    await enqueue({
      path: `/api/gridwork/patrols/{patrol:${patrolKey}}/findings`,
      body: {
        channel: "grid",
        kind: "report",
        subject: f.get("subject"),
        description: f.get("description"),
        lon: at?.lon ?? null,
        lat: at?.lat ?? null,
        address: at ? null : grid.name,
        idempotency_key: newKey("finding"),
      },
      label: t("gw.finding"),
    });
    e.target.reset();
    setDone(true);
  }
  return (
    <details class="action">
      <summary>{t("gw.finding")}</summary>
      <form onSubmit={submit}>
        <label for="f-subject">{t("gw.subject")}</label>
        <input id="f-subject" name="subject" required maxLength={100} />
        <label for="f-description">{t("gw.description")}</label>
        <textarea id="f-description" name="description" required rows={3} />
        <p>
          <button type="submit">{t("gw.report")}</button>
        </p>
        {done && <p role="status">{t("gw.queued")}</p>}
      </form>
    </details>
  );
}

/// A quick record (随手记): not yet a case; the community reviews it.
function QuickNote({ grid }) {
  const [done, setDone] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const at = await here();
    await enqueue({
      path: "/api/gridwork/notes",
      body: {
        grid_code: grid.code,
        kind: f.get("kind"),
        text: f.get("text"),
        lat: at?.lat ?? null,
        lon: at?.lon ?? null,
        idempotency_key: newKey("note"),
      },
      label: t("gw.note"),
    });
    e.target.reset();
    setDone(true);
  }
  return (
    <section class="card" aria-labelledby="note-title">
      <h2 id="note-title">{t("gw.note")}</h2>
      <form onSubmit={submit}>
        <label for="n-kind">{t("gw.note_kind")}</label>
        <select id="n-kind" name="kind">
          {NOTE_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`gw.kind.${k}`)}
            </option>
          ))}
        </select>
        <label for="n-text">{t("gw.note_text")}</label>
        <textarea id="n-text" name="text" required rows={3} />
        <p>
          <button type="submit">{t("gw.save_note")}</button>
        </p>
        {done && <p role="status">{t("gw.queued")}</p>}
      </form>
    </section>
  );
}

/// The households to visit (kept on the phone for use without a network) and the visit's record.
function Visits({ grid }) {
  const cacheKey = `wuzhi.visits.${grid.code}`;
  const [plan, setPlan] = useState(saved(cacheKey, null));
  const [open, setOpen] = useState(null);
  const [sent, setSent] = useState(saved("wuzhi.visited", {}));
  const [error, setError] = useState(null);
  useEffect(() => {
    api("GET", `/api/gridwork/visit-plan?territory=${grid.code}`).then(
      (p) => {
        setPlan(p);
        save(cacheKey, p);
      },
      (e) => plan === null && setError(e.message),
    );
  }, [grid.code]);
  async function submit(e, h) {
    e.preventDefault();
    const f = new FormData(e.target);
    const key = newKey("visit");
    const photo = f.get("photo");
    await enqueue({
      resolves: `visit:${key}`,
      path: "/api/gridwork/visits",
      body: {
        household_key: h.household_key,
        way: f.get("way"),
        outcome: f.get("outcome"),
        found: f.get("found"),
        needs: f.get("needs"),
        raise_case: f.get("raise_case") === "on",
        at_ms: Date.now(),
        idempotency_key: key,
      },
      label: t("gw.visit_of", { who: h.household.address || h.household_key }),
    });
    // A photo only with the household's consent, sent after the visit it belongs to.
    if (photo && photo.size > 0 && f.get("consent") === "on") {
      await enqueue({ path: `/api/gridwork/visits/{visit:${key}}/photo?consent=true`, blob: photo, label: t("gw.photo") });
    }
    const next = { ...sent, [h.household_key]: Date.now() };
    save("wuzhi.visited", next);
    setSent(next);
    setOpen(null);
  }
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!plan) return null;
  const due = plan.filter((h) => h.overdue);
  return (
    <section class="card" aria-labelledby="visits-title">
      <h2 id="visits-title">{t("gw.visits")}</h2>
      <p class="muted">{t("gw.visits_due", { due: due.length, all: plan.length })}</p>
      <ul class="case-list">
        {plan.slice(0, 50).map((h) => (
          <li key={h.household_key}>
            <strong>{[h.household.address, h.household.house_number].filter(Boolean).join(" ") || t("gw.no_house")}</strong>{" "}
            {h.household.members.map((m) => m.name).join("、")}
            {h.household.care_tags.map((g) => (
              <span class="badge" key={g}>
                {t(`tag.${g}`)}
              </span>
            ))}
            <br />
            <span class={h.overdue ? "badge s-overdue" : "badge"}>
              {h.overdue ? t("gw.overdue_since", { at: formatTime(h.due_ms) }) : t("gw.due_at", { at: formatTime(h.due_ms) })}
            </span>
            {sent[h.household_key] && <span class="badge s-closed">{t("gw.visit_logged")}</span>}{" "}
            <button type="button" class="quiet" onClick={() => setOpen(open === h.household_key ? null : h.household_key)}>
              {t("gw.log_visit")}
            </button>
            {open === h.household_key && (
              <form onSubmit={(e) => submit(e, h)} aria-label={t("gw.log_visit")}>
                <label for="v-way">{t("gw.way")}</label>
                <select id="v-way" name="way">
                  {WAYS.map((w) => (
                    <option key={w} value={w}>
                      {t(`gw.way.${w}`)}
                    </option>
                  ))}
                </select>
                <label for="v-outcome">{t("gw.outcome")}</label>
                <select id="v-outcome" name="outcome">
                  {OUTCOMES.map((o) => (
                    <option key={o} value={o}>
                      {t(`gw.outcome.${o}`)}
                    </option>
                  ))}
                </select>
                <label for="v-found">{t("gw.found")}</label>
                <textarea id="v-found" name="found" rows={2} />
                <label for="v-needs">{t("gw.needs")}</label>
                <textarea id="v-needs" name="needs" rows={2} />
                <label class="inline">
                  <input type="checkbox" name="raise_case" /> {t("gw.raise_case")}
                </label>
                <label for="v-photo">{t("gw.photo")}</label>
                <input id="v-photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" capture="environment" />
                <label class="inline">
                  <input type="checkbox" name="consent" /> {t("gw.consent")}
                </label>
                <p>
                  <button type="submit">{t("gw.save_visit")}</button>
                </p>
              </form>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/// One's own week: what one did, for oneself.
function MyWeek() {
  const [w, setW] = useState(null);
  useEffect(() => {
    const load = () => api("GET", "/api/gridwork/me/week").then(setW, () => {});
    load();
    // What the outbox has just sent shows here too.
    return onChange(debounce(load, 500));
  }, []);
  if (!w) return null;
  return (
    <section class="card" aria-labelledby="week-title">
      <h2 id="week-title">{t("gw.week")}</h2>
      <div class="tiles">
        <div class="tile"><div class="tile-v" data-testid="week-patrols">{w.patrols.length}</div><div>{t("gw.patrols")}</div></div>
        <div class="tile"><div class="tile-v">{w.findings}</div><div>{t("gw.findings")}</div></div>
        <div class="tile"><div class="tile-v">{w.fixed_on_spot}</div><div>{t("gw.fixed")}</div></div>
        <div class="tile"><div class="tile-v">{w.visits.length}</div><div>{t("gw.visits_done")}</div></div>
        <div class="tile"><div class="tile-v" data-testid="week-notes">{w.notes.length}</div><div>{t("gw.notes")}</div></div>
      </div>
      {w.duties.length > 0 && (
        <>
          <h3>{t("gw.duties")}</h3>
          <ul>
            {w.duties.map((d) => (
              <li key={d.id}>
                {d.grid_name} · {formatTime(d.starts_ms)} – {formatTime(d.ends_ms)} {d.note}
              </li>
            ))}
          </ul>
        </>
      )}
      <p class="muted">{t("gw.week_note")}</p>
    </section>
  );
}

/// The grid-work page of a grid worker or a steward.
export function GridWork({ me }) {
  const grids = me.grants
    .filter((g) => ["grid_worker", "steward", "community_staff"].includes(g.role) && g.scope.length === 15)
    .map((g) => g.scope)
    .filter((c, i, all) => all.indexOf(c) === i);
  const [code, setCode] = useState(saved("wuzhi.grid", null) || grids[0]);
  const [names, setNames] = useState(saved("wuzhi.grid_names", {}));
  const [plans, setPlans] = useState(saved(`wuzhi.plans.${code}`, []));
  const readsArchives = me.grants.some((g) => g.role === "grid_worker" || g.role === "community_staff");
  useEffect(() => {
    for (const c of grids) {
      api("GET", `/api/map/outline/${c}`).then((o) => {
        setNames((n) => {
          const next = { ...n, [c]: o.name };
          save("wuzhi.grid_names", next);
          return next;
        });
      }, () => {});
    }
  }, []);
  useEffect(() => {
    if (!code) return;
    save("wuzhi.grid", code);
    api("GET", `/api/gridwork/plans/${code}`).then((p) => {
      setPlans(p);
      save(`wuzhi.plans.${code}`, p);
    }, () => {});
  }, [code]);
  if (!code) return <p class="muted">{t("gw.no_grid")}</p>;
  const grid = { code, name: names[code] || code };
  return (
    <>
      <section class="card">
        <h2>{t("gw.title", { grid: grid.name })}</h2>
        {grids.length > 1 && (
          <>
            <label for="grid">{t("gw.grid")}</label>
            <select id="grid" value={code} onChange={(e) => setCode(e.target.value)}>
              {grids.map((c) => (
                <option key={c} value={c}>
                  {names[c] || c}
                </option>
              ))}
            </select>
          </>
        )}
        <p class="muted">{t("gw.intro")}</p>
      </section>
      <Outbox />
      <Patrol grid={grid} plans={plans} />
      <QuickNote grid={grid} />
      {readsArchives && <Visits grid={grid} />}
      <MyWeek />
    </>
  );
}

// 志愿服务: for residents (on a phone), the activities to join with their places, one's
// sign-ups and verified hours, and the printable certificate; for the organisers of a
// community or a street, publishing activities, deciding sign-ups, confirming at the
// activity who served and for how long, completing or cancelling. The server decides every
// rule (capacity, who confirms, when); the page says what it refused in the reader's words.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime, lang, refusal } from "../../i18n.js";
import { useAct } from "../../act.js";

const SERVICE_POSTS = ["policy", "environment", "civility", "care", "safety", "mediation", "culture", "expertise"];
const ORGANISER_KINDS = ["practice_centre", "volunteer_team", "community_committee", "street_office", "party_organisation"];

const message = (e) => refusal("volunteer", e);

const hours = (minutes) => {
  const tenths = Math.round((minutes * 10) / 60);
  return tenths % 10 === 0 ? String(tenths / 10) : (tenths / 10).toFixed(1);
};

// 12月8日周二 09:00–11:00, in the city's time.
const when = (a) => {
  const zone = { timeZone: "Asia/Shanghai" };
  const locale = lang === "en" ? "en-GB" : "zh-CN";
  const day = new Date(a.starts_at_ms).toLocaleDateString(locale, { month: "short", day: "numeric", weekday: "short", ...zone });
  const hm = (ms) => new Date(ms).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, ...zone });
  return `${day} ${hm(a.starts_at_ms)}–${hm(a.ends_at_ms)}`;
};

function Notes({ note, error }) {
  return (
    <>
      {note && <p role="status" class="ok">{note}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </>
  );
}

function ActivityFacts({ a }) {
  return (
    <p class="muted">
      {when(a)} · {a.place} · {a.organiser_name}
      <br />
      {a.state === "open"
        ? t("volunteer.places", { left: a.places_left, n: a.capacity })
        : t(`volunteer.state.${a.state}`)}
      {a.approval && ` · ${t("volunteer.approval")}`}
      {a.rule_id && ` · ${t("volunteer.earns_points")}`}
      {a.skills.length > 0 && ` · ${t("volunteer.skills_wanted", { s: a.skills.join("、") })}`}
    </p>
  );
}

/// 双报到: a party member registers with the community where they live, choosing posts.
function PartyCard({ party, act }) {
  const register = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    await api("POST", "/api/party-reports/me", { posts: SERVICE_POSTS.filter((p) => f.get(`post-${p}`)) });
    return t("party.registered");
  });
  const leave = act(async () => {
    await api("DELETE", "/api/party-reports/me");
    return t("party.ended");
  });
  const r = party.report;
  const chosen = r?.posts ?? [];
  return (
    <section class="card" aria-label={t("party.title")}>
      <h2>{t("party.title")}</h2>
      <p class="muted">{t("party.intro", { org: party.organisations.map((o) => o.name).join("、") })}</p>
      {r && (
        <p data-testid="party-report">
          {t("party.registered_at", { community: r.community_name ?? r.community_code })}
          <br />
          {t("party.posts_are", { posts: r.posts.map((p) => t(`party.post.${p}`)).join("、") })} · {t("party.served", { h: r.hours, n: r.activities })}
        </p>
      )}
      <form onSubmit={register} aria-label={r ? t("party.change") : t("party.register")}>
        <fieldset>
          <legend>{t("party.choose")}</legend>
          {SERVICE_POSTS.map((p) => (
            <label class="inline" key={p}><input type="checkbox" name={`post-${p}`} checked={chosen.includes(p)} /> {t(`party.post.${p}`)}</label>
          ))}
        </fieldset>
        <p>
          <button type="submit">{r ? t("party.change") : t("party.register")}</button>{" "}
          {r && <button type="button" class="quiet" onClick={() => leave()}>{t("party.end")}</button>}
        </p>
      </form>
    </section>
  );
}

/// A resident's volunteer service: activities to join, sign-ups, verified hours.
export function Volunteer() {
  const [record, setRecord] = useState(undefined);
  const [activities, setActivities] = useState([]);
  const [party, setParty] = useState(null);
  const load = async () => {
    const [r, a, p] = await Promise.all([
      api("GET", "/api/volunteers/me"),
      api("GET", "/api/volunteer-activities"),
      api("GET", "/api/party-reports/me"),
    ]);
    setRecord(r);
    setActivities(a);
    setParty(p);
  };
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => { load().catch((e) => setError(message(e))); }, []);
  const register = act(async (ev) => {
    ev.preventDefault();
    await api("POST", "/api/volunteers/me", { skills: new FormData(ev.target).get("skills") || "" });
    return t("volunteer.registered");
  });
  const signUp = act(async (a) => {
    const s = await api("POST", `/api/volunteer-activities/${a.id}/signups`, {});
    return s.state === "applied" ? t("volunteer.applied_note") : t("volunteer.accepted_note", { at: when(a) });
  });
  const withdraw = act(async (a) => {
    await api("POST", `/api/volunteer-activities/${a.id}/withdrawal`);
    return t("volunteer.withdrawn_note");
  });
  if (record === undefined) return error ? <p class="error" role="alert">{error}</p> : null;
  const v = record.volunteer;
  return (
    <>
      <section class="card">
        <h2>{t("volunteer.mine")}</h2>
        <p class="points-total" data-testid="volunteer-hours">
          <strong>{record.hours}</strong> {t("volunteer.hours_unit")}
        </p>
        <p class="muted">
          {t("volunteer.served", { n: record.activities })}
          {v?.team_name && ` · ${v.team_name}`}
          {v?.skills?.length > 0 && ` · ${t("volunteer.my_skills", { s: v.skills.join("、") })}`}
        </p>
        {record.certificate && (
          <p><a href="#/volunteer/certificate">{t("volunteer.certificate_link")}</a></p>
        )}
        <Notes note={note} error={error} />
        <details open={!v}>
          <summary>{v ? t("volunteer.edit_skills") : t("volunteer.register")}</summary>
          <form onSubmit={register} aria-label={t("volunteer.register")}>
            <label for="vo-skills">{t("volunteer.skills")}</label>
            <input id="vo-skills" name="skills" value={v?.skills?.join("、") ?? ""} placeholder={t("volunteer.skills_hint")} />
            <p><button type="submit">{v ? t("volunteer.save") : t("volunteer.register")}</button></p>
          </form>
        </details>
      </section>
      <section class="card">
        <h2>{t("volunteer.activities")}</h2>
        {activities.length === 0 && <p class="muted">{t("volunteer.none")}</p>}
        <ul class="case-list" data-testid="volunteer-activities">
          {activities.map((a) => {
            const s = a.my_signup;
            const holds = s && (s.state === "applied" || s.state === "accepted");
            return (
              <li key={a.id}>
                <strong>{a.title}</strong>
                {s && <span class={s.state === "accepted" ? "ok" : "muted"}> · {t(`volunteer.signup.${s.state}`)}</span>}
                <ActivityFacts a={a} />
                {a.description && <p>{a.description}</p>}
                {a.signup_open && !holds && (!s || s.state === "withdrawn") && (
                  <button type="button" disabled={!a.approval && a.places_left === 0} onClick={() => signUp(a)}>
                    {a.approval ? t("volunteer.apply") : t("volunteer.sign_up")}
                  </button>
                )}
                {a.signup_open && holds && (
                  <button type="button" class="quiet" onClick={() => withdraw(a)}>{t("volunteer.withdraw")}</button>
                )}
              </li>
            );
          })}
        </ul>
      </section>
      {party?.organisations?.length > 0 && <PartyCard party={party} act={act} />}
      {record.services.length > 0 && (
        <section class="card">
          <h2>{t("volunteer.history")}</h2>
          <ul class="case-list" data-testid="volunteer-history">
            {record.services.map((e) => (
              <li key={e.signup.id}>
                <strong>{e.title}</strong> · <span class="muted">{formatTime(e.starts_at_ms)} · {e.organiser_name}</span>
                <br />
                {e.signup.minutes
                  ? <span class="ok">{t("volunteer.verified", { h: hours(e.signup.minutes) })}</span>
                  : <span class="muted">{t(`volunteer.signup.${e.signup.state}`)}</span>}
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

/// The printable certificate (志愿服务证明) of one's verified service, with its number.
export function VolunteerCertificate() {
  const [record, setRecord] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { api("GET", "/api/volunteers/me").then(setRecord, (e) => setError(message(e))); }, []);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!record) return null;
  if (!record.certificate) return <p class="muted">{t("volunteer.no_certificate")}</p>;
  const served = record.services.filter((s) => s.signup.minutes);
  const first = Math.min(...served.map((s) => s.starts_at_ms));
  const last = Math.max(...served.map((s) => s.starts_at_ms));
  const day = (ms) => new Date(ms).toLocaleDateString("zh-CN", { year: "numeric", month: "long", day: "numeric", timeZone: "Asia/Shanghai" });
  return (
    <section class="card certificate" aria-label={t("volunteer.certificate")}>
      <h2>{t("volunteer.certificate")}</h2>
      <p data-testid="certificate-text">
        {t("volunteer.certificate_text", {
          name: record.volunteer?.name ?? "",
          from: day(first),
          to: day(last),
          n: record.activities,
          h: record.hours,
        })}
      </p>
      <table>
        <thead>
          <tr><th>{t("volunteer.col.date")}</th><th>{t("volunteer.col.activity")}</th><th>{t("volunteer.col.organiser")}</th><th>{t("volunteer.col.hours")}</th></tr>
        </thead>
        <tbody>
          {served.map((s) => (
            <tr key={s.signup.id}>
              <td>{day(s.starts_at_ms)}</td><td>{s.title}</td><td>{s.organiser_name}</td><td>{hours(s.signup.minutes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">
        {t("volunteer.certificate_no")}<code data-testid="certificate-no">{record.certificate}</code>
        <br />
        {t("volunteer.certificate_check", { path: `/api/volunteer-certificates/${record.certificate}` })}
      </p>
      <p class="no-print"><button type="button" onClick={() => window.print()}>{t("volunteer.print")}</button></p>
    </section>
  );
}

function SignupRow({ s, onDecide }) {
  const [declining, setDeclining] = useState(false);
  return (
    <li>
      <strong>{s.name}</strong> · <span class="muted">{t(`volunteer.signup.${s.state}`)}</span>
      {s.minutes && <span class="ok"> · {t("volunteer.verified", { h: hours(s.minutes) })}</span>}
      {s.note && <span class="muted"> · {s.note}</span>}
      {s.state === "applied" && !declining && (
        <>
          {" "}
          <button type="button" onClick={() => onDecide(s, true)}>{t("volunteer.accept")}</button>
          <button type="button" class="quiet" onClick={() => setDeclining(true)}>{t("volunteer.decline")}</button>
        </>
      )}
      {declining && (
        <form onSubmit={(ev) => (ev.preventDefault(), onDecide(s, false, new FormData(ev.target).get("reason")))}>
          <label for={`dr-${s.id}`}>{t("volunteer.decline_reason")}</label>
          <input id={`dr-${s.id}`} name="reason" required />
          <button type="submit">{t("volunteer.decline")}</button>
        </form>
      )}
    </li>
  );
}

function ActivityDesk({ a, onChanged, act }) {
  const [detail, setDetail] = useState(null);
  const load = async () => setDetail(await api("GET", `/api/volunteer-activities/${a.id}`));
  useEffect(() => { load(); }, [a.id, a.places_left, a.state]);
  const refresh = async () => (await load(), await onChanged());
  const decide = act(async (s, accept, reason) => {
    await api("POST", `/api/volunteer-signups/${s.id}/decision`, { accept, reason });
    await load();
    return accept ? t("volunteer.accepted", { name: s.name }) : t("volunteer.declined", { name: s.name });
  });
  const length = Math.round((a.ends_at_ms - a.starts_at_ms) / 60000);
  const confirm = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const served = (detail?.signups || [])
      .filter((s) => f.get(`came-${s.id}`))
      .map((s) => ({ signup_id: s.id, minutes: Number(f.get(`min-${s.id}`)) }));
    const r = await api("POST", `/api/volunteer-activities/${a.id}/attendance`, { served });
    await load();
    return t("volunteer.confirmed", { n: r.signups.length, p: r.points });
  });
  const close = act(async (completed, reason) => {
    await api("POST", `/api/volunteer-activities/${a.id}/closing`, { completed, reason });
    await refresh();
    return completed ? t("volunteer.completed") : t("volunteer.cancelled");
  });
  if (!detail) return null;
  const open = a.state === "open";
  const started = detail.activity.started;
  const toConfirm = detail.signups.filter((s) => s.state === "accepted" && !s.minutes);
  return (
    <div class="activity-desk">
      <ul class="case-list" aria-label={t("volunteer.signups")}>
        {detail.signups.length === 0 && <li class="muted">{t("volunteer.no_signups")}</li>}
        {detail.signups.map((s) => <SignupRow key={s.id} s={s} onDecide={decide} />)}
      </ul>
      {open && started && toConfirm.length > 0 && (
        <form onSubmit={confirm} aria-label={t("volunteer.attendance")}>
          <h4>{t("volunteer.attendance")}</h4>
          <p class="muted">{t("volunteer.attendance_intro")}</p>
          {toConfirm.map((s) => (
            <p key={s.id} class="attendance-line">
              <label class="inline"><input type="checkbox" name={`came-${s.id}`} checked /> {s.name}</label>
              <input type="number" name={`min-${s.id}`} min="1" max={length} value={length} aria-label={t("volunteer.minutes_of", { name: s.name })} />
              {t("volunteer.minutes")}
            </p>
          ))}
          <p><button type="submit">{t("volunteer.confirm")}</button></p>
        </form>
      )}
      {open && (
        <p>
          {started && <button type="button" onClick={() => close(true)}>{t("volunteer.complete")}</button>}{" "}
          {!detail.signups.some((s) => s.minutes) && (
            <button type="button" class="quiet" onClick={() => {
              const reason = window.prompt(t("volunteer.cancel_reason"));
              if (reason) close(false, reason);
            }}>{t("volunteer.cancel")}</button>
          )}
        </p>
      )}
    </div>
  );
}

/// The organisers of a community or a street: publish, decide, confirm, close.
export function VolunteerAdmin({ me }) {
  const grant = me.grants.find((g) => ["community_staff", "street_commander"].includes(g.role));
  const scope = grant?.scope;
  const keepsPoints = grant?.role === "community_staff";
  const [orgs, setOrgs] = useState([]);
  const [rules, setRules] = useState([]);
  const [activities, setActivities] = useState([]);
  const [openId, setOpenId] = useState(null);
  const [members, setMembers] = useState([]);
  // The registered party members of the community (a community's post) or of none.
  const community = scope && scope.length === 12 ? scope : null;
  const load = async () => {
    if (!scope) return;
    setActivities(await api("GET", `/api/volunteer-activities?territory=${scope}&past=true`));
    if (community) setMembers(await api("GET", `/api/party-reports?community=${community}`));
  };
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => {
    if (!scope) return;
    load().catch((e) => setError(message(e)));
    api("GET", "/api/organisations?limit=500").then((o) => setOrgs(o.filter((x) => ORGANISER_KINDS.includes(x.kind))), () => {});
    if (keepsPoints) api("GET", `/api/points/rules?territory=${scope}`).then(setRules, () => {});
  }, [scope]);
  const publish = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    // The city's time, whatever the browser's zone.
    const at = (time) => new Date(`${f.get("date")}T${time}:00+08:00`).getTime();
    const rule = f.get("rule");
    const a = await api("POST", "/api/volunteer-activities", {
      organiser_org_id: Number(f.get("organiser")),
      title: f.get("title"),
      description: f.get("description") || "",
      place: f.get("place"),
      starts_at_ms: at(f.get("from")),
      ends_at_ms: at(f.get("to")),
      capacity: Number(f.get("capacity")),
      skills: f.get("skills") || "",
      approval: f.get("approval") === "on",
      rule_id: rule ? Number(rule) : null,
    });
    ev.target.reset();
    return t("volunteer.published", { title: a.title });
  });
  if (!scope) return <p class="error" role="alert">{t("volunteer.staff_only")}</p>;
  return (
    <>
      <section class="card">
        <h2>{t("volunteer.admin")}</h2>
        <p class="muted">{t("volunteer.admin_intro")}</p>
        <Notes note={note} error={error} />
        <form onSubmit={publish} aria-label={t("volunteer.publish")}>
          <h3>{t("volunteer.publish")}</h3>
          <label for="va-org">{t("volunteer.organiser")}</label>
          <select id="va-org" name="organiser" required>
            {orgs.map((o) => <option value={o.id} key={o.id}>{o.name}</option>)}
          </select>
          <label for="va-title">{t("volunteer.title")}</label><input id="va-title" name="title" required maxlength="60" />
          <label for="va-desc">{t("volunteer.description")}</label><textarea id="va-desc" name="description" maxlength="2000" />
          <label for="va-place">{t("volunteer.place")}</label><input id="va-place" name="place" required maxlength="100" />
          <div class="field-row">
            <span><label for="va-date">{t("volunteer.date")}</label><input id="va-date" name="date" type="date" required /></span>
            <span><label for="va-from">{t("volunteer.from")}</label><input id="va-from" name="from" type="time" required /></span>
            <span><label for="va-to">{t("volunteer.to")}</label><input id="va-to" name="to" type="time" required /></span>
            <span><label for="va-cap">{t("volunteer.capacity")}</label><input id="va-cap" name="capacity" type="number" min="1" max="10000" required /></span>
          </div>
          <label for="va-skills">{t("volunteer.skills")}</label><input id="va-skills" name="skills" placeholder={t("volunteer.skills_hint")} />
          <label class="inline"><input type="checkbox" name="approval" /> {t("volunteer.approval_label")}</label>
          {keepsPoints && (
            <>
              <label for="va-rule">{t("volunteer.rule")}</label>
              <select id="va-rule" name="rule">
                <option value="">{t("volunteer.no_rule")}</option>
                {rules.map((r) => <option value={r.id} key={r.id}>{t("volunteer.rule_option", { name: r.name, n: r.points })}</option>)}
              </select>
            </>
          )}
          <p><button type="submit">{t("volunteer.publish")}</button></p>
        </form>
      </section>
      <section class="card">
        <h2>{t("volunteer.activities_of")}</h2>
        {activities.length === 0 && <p class="muted">{t("volunteer.none")}</p>}
        <ul class="case-list" data-testid="volunteer-desk">
          {activities.map((a) => (
            <li key={a.id}>
              <button type="button" class="link" aria-expanded={openId === a.id} onClick={() => setOpenId(openId === a.id ? null : a.id)}>
                <strong>{a.title}</strong>
              </button>
              <ActivityFacts a={a} />
              {openId === a.id && <ActivityDesk a={a} onChanged={load} act={act} />}
            </li>
          ))}
        </ul>
      </section>
      {community && (
        <section class="card">
          <h2>{t("party.members")}</h2>
          <p class="muted">{t("party.members_intro")}</p>
          {members.length === 0 && <p class="muted">{t("party.none")}</p>}
          <table class="plain" data-testid="party-members">
            {members.length > 0 && (
              <thead><tr><th>{t("party.col.name")}</th><th>{t("party.col.org")}</th><th>{t("party.col.posts")}</th><th>{t("party.col.since")}</th><th>{t("party.col.hours")}</th></tr></thead>
            )}
            <tbody>
              {members.map((m) => (
                <tr key={m.id}>
                  <td>{m.name}</td><td>{m.party_org_name}</td><td>{m.posts.map((p) => t(`party.post.${p}`)).join("、")}</td>
                  <td>{formatTime(m.registered_at_ms)}</td><td>{t("party.served", { h: m.hours, n: m.activities })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

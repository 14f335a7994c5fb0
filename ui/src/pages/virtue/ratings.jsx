// 文明评选: residents see the campaigns of their community, street and district, nominate
// themselves or a neighbour, consent when named, vote once, and object during the publicity
// period; the committee opens a campaign, nominates, reviews, moves it through its stages,
// answers objections and gives the award. The honours board (榜样) is public. The server
// decides who may do what and when: the page shows what it offers (`may_*`).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime, refusal } from "../../i18n.js";
import { useAct } from "../../act.js";

const message = (e) => refusal("rating", e);
const RUNS = ["community_staff", "street_commander", "district_leader", "city_leader"];
const at = (d) => new Date(`${d}T18:00:00+08:00`).getTime();

function Nomination({ c, n, act }) {
  const consent = (agree) => act(async () => (await api("POST", `/api/rating-nominations/${n.id}/consent`, { agree }), t(agree ? "rating.consented" : "rating.declined_note")));
  const review = (accept) => act(async (ev) => {
    const form = ev.target.closest("form");
    await api("POST", `/api/rating-nominations/${n.id}/review`, { accept, note: new FormData(form).get("note") || "" });
    return t(accept ? "rating.accepted_note" : "rating.rejected_note");
  });
  const object = act(async (ev) => {
    ev.preventDefault();
    await api("POST", `/api/rating-nominations/${n.id}/objections`, { reason: new FormData(ev.target).get("reason") });
    return t("rating.objected");
  });
  const answer = (o) => act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    await api("POST", `/api/rating-objections/${o.id}/answer`, { upheld: f.get("upheld") === "yes", answer: f.get("answer") });
    return t("rating.answered");
  });
  return (
    <li data-testid={`nomination-${n.id}`}>
      <strong>{n.shown_name}</strong> <span class={`badge ${n.standing}`}>{t(`rating.standing.${n.standing}`)}</span>
      {n.votes !== null && <span class="muted"> · {t("rating.votes", { n: n.votes })}</span>}
      <p class="muted">{t(`rating.by.${n.by_kind}`)}{n.nominator_name && ` · ${t("rating.nominator", { name: n.nominator_name })}`}</p>
      <p>{n.deeds}</p>
      {n.review_note && <p class="muted">{t("rating.review_note", { note: n.review_note })}</p>}
      {n.may_consent && (
        <p>
          {t("rating.consent_ask")} <button type="button" onClick={consent(true)}>{t("rating.agree")}</button>{" "}
          <button type="button" class="quiet" onClick={consent(false)}>{t("rating.disagree")}</button>
        </p>
      )}
      {c.may_run && c.stage === "nominating" && n.standing === "submitted" && !n.mine && (
        <form class="field-row" aria-label={t("rating.review_of", { name: n.shown_name })} onSubmit={(ev) => ev.preventDefault()}>
          <span><label for={`rn-${n.id}`}>{t("rating.field.note")}</label><input id={`rn-${n.id}`} name="note" maxlength="500" /></span>
          <span>
            <button type="button" onClick={review(true)}>{t("rating.accept")}</button>{" "}
            <button type="button" class="quiet" onClick={review(false)}>{t("rating.reject")}</button>
          </span>
        </form>
      )}
      {n.objections.length > 0 && (
        <ul class="objections">
          {n.objections.map((o) => (
            <li key={o.id}>
              {t("rating.objection")}{o.reason && `：${o.reason}`}
              {o.objector_name && <span class="muted"> · {o.objector_name}</span>}
              <span class="muted"> · {formatTime(o.created_at_ms)}</span>
              {o.answer ? (
                <p>{t(`rating.decision.${o.decision}`)}：{o.answer}</p>
              ) : c.may_run && c.stage === "publicity" ? (
                <form aria-label={t("rating.answer_of", { name: n.shown_name })} onSubmit={answer(o)}>
                  <fieldset>
                    <legend>{t("rating.field.upheld")}</legend>
                    <label class="inline"><input type="radio" name="upheld" value="no" required /> {t("rating.decision.dismissed")}</label>
                    <label class="inline"><input type="radio" name="upheld" value="yes" /> {t("rating.decision.upheld")}</label>
                  </fieldset>
                  <label for={`ra-${o.id}`}>{t("rating.field.answer")}</label>
                  <textarea id={`ra-${o.id}`} name="answer" required maxlength="2000" />
                  <p><button type="submit">{t("rating.answer")}</button></p>
                </form>
              ) : (
                <p class="muted">{t("rating.unanswered")}</p>
              )}
            </li>
          ))}
        </ul>
      )}
      {n.may_object && (
        <form aria-label={t("rating.object_to", { name: n.shown_name })} onSubmit={object}>
          <label for={`ro-${n.id}`}>{t("rating.field.reason")}</label>
          <textarea id={`ro-${n.id}`} name="reason" required maxlength="500" placeholder={t("rating.reason_hint")} />
          <p><button type="submit">{t("rating.object")}</button></p>
        </form>
      )}
    </li>
  );
}

function Nominate({ c, act, people, communities }) {
  const [by, setBy] = useState(c.may_run && !c.resident ? "committee" : "self");
  const submit = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { by, deeds: f.get("deeds") };
    if (by === "neighbour") Object.assign(body, { nominee_name: f.get("name"), nominee_phone: f.get("phone") });
    if (by === "committee" && c.kind === "community") body.nominee_territory = f.get("territory");
    else if (by === "committee") body.nominee_person_id = Number(f.get("person"));
    await api("POST", `/api/rating-campaigns/${c.id}/nominations`, body);
    ev.target.reset();
    return t(by === "self" || c.kind === "community" ? "rating.nominated" : "rating.nominated_other");
  });
  const choices = c.kind === "community" ? ["committee"] : [...(c.resident ? ["self", "neighbour"] : []), ...(c.may_run ? ["committee"] : [])];
  return (
    <form aria-label={t("rating.nominate")} onSubmit={submit}>
      <h4>{t("rating.nominate")}</h4>
      <label for={`nb-${c.id}`}>{t("rating.field.by")}</label>
      <select id={`nb-${c.id}`} value={by} onChange={(e) => setBy(e.target.value)}>
        {choices.map((k) => <option value={k} key={k}>{t(`rating.by.${k}`)}</option>)}
      </select>
      {by === "neighbour" && (
        <>
          <label for={`nm-${c.id}`}>{t("rating.field.nominee_name")}</label>
          <input id={`nm-${c.id}`} name="name" required maxlength="50" />
          <label for={`np-${c.id}`}>{t("rating.field.nominee_phone")}</label>
          <input id={`np-${c.id}`} name="phone" type="tel" inputmode="numeric" required maxlength="20" />
        </>
      )}
      {by === "committee" && c.kind !== "community" && (
        <>
          <label for={`nn-${c.id}`}>{t("rating.field.nominee_person_id")}</label>
          <select id={`nn-${c.id}`} name="person" required>
            {people.filter((p) => (p.home_territory || "").startsWith(c.territory_code)).map((p) => <option value={p.id} key={p.id}>{p.name}</option>)}
          </select>
        </>
      )}
      {by === "committee" && c.kind === "community" && (
        <>
          <label for={`nt-${c.id}`}>{t("rating.field.nominee_territory")}</label>
          <select id={`nt-${c.id}`} name="territory" required>
            {communities.map((x) => <option value={x.code} key={x.code}>{x.name}</option>)}
          </select>
        </>
      )}
      <label for={`nd-${c.id}`}>{t("rating.field.deeds")}</label>
      <textarea id={`nd-${c.id}`} name="deeds" required maxlength="2000" placeholder={t("rating.deeds_hint")} />
      <p><button type="submit">{t("rating.submit_nomination")}</button></p>
    </form>
  );
}

function Campaign({ c, act, people, communities }) {
  const step = (path, said) => act(async () => (await api("POST", `/api/rating-campaigns/${c.id}/${path}`), t(said)));
  const vote = act(async (ev) => {
    ev.preventDefault();
    await api("POST", `/api/rating-campaigns/${c.id}/votes`, { nomination_id: Number(new FormData(ev.target).get("nomination")) });
    return t("rating.voted");
  });
  const standing = c.nominations.filter((n) => n.standing === "accepted");
  const when = {
    nominating: t("rating.when.nominating", { at: formatTime(c.nominations_close_ms) }),
    voting: t("rating.when.voting", { at: formatTime(c.vote_closes_at_ms) }),
    publicity: t("rating.when.publicity", { at: formatTime(c.publicity_ends_at_ms) }),
    awarded: t("rating.when.awarded", { at: formatTime(c.awarded_at_ms) }),
  }[c.stage];
  return (
    <li data-testid={`campaign-${c.id}`}>
      <strong>{c.title}</strong> <span class={`badge ${c.stage}`}>{t(`rating.stage.${c.stage}`)}</span>
      <p class="muted">
        {c.territory_name} · {t("rating.honour_places", { honour: c.honour, n: c.places })}
        {c.points !== null && ` · ${t("rating.points", { n: c.points })}`} · {when}
      </p>
      <ol class="stages" aria-label={t("rating.stages")}>
        {["nominating", "voting", "publicity", "awarded"].map((s) => (
          <li key={s} aria-current={s === c.stage ? "step" : undefined}>{t(`rating.stage.${s}`)}</li>
        ))}
      </ol>
      <p>{t("rating.criteria", { text: c.criteria })}</p>
      {c.stage !== "nominating" && <p class="muted">{t("rating.voters", { n: c.voters })}{c.i_voted && ` · ${t("rating.i_voted")}`}</p>}
      {c.may_vote && standing.length > 0 && (
        <form aria-label={t("rating.vote_in", { title: c.title })} onSubmit={vote}>
          <fieldset>
            <legend>{t("rating.vote_legend")}</legend>
            {standing.map((n) => (
              <label class="inline" key={n.id}><input type="radio" name="nomination" value={n.id} required /> {n.shown_name}</label>
            ))}
          </fieldset>
          <p><button type="submit">{t("rating.vote")}</button></p>
        </form>
      )}
      {c.nominations.length === 0 ? (
        <p class="muted">{t("rating.no_nominations")}</p>
      ) : (
        <ul class="case-list" data-testid={`nominations-${c.id}`}>
          {c.nominations.map((n) => <Nomination key={n.id} c={c} n={n} act={act} />)}
        </ul>
      )}
      {c.may_nominate && <Nominate c={c} act={act} people={people} communities={communities} />}
      {c.may_run && (
        <p>
          {c.stage === "nominating" && <button type="button" onClick={step("voting", "rating.vote_opened")}>{t("rating.open_vote")}</button>}
          {c.stage === "voting" && <button type="button" onClick={step("publicity", "rating.publicity_opened")}>{t("rating.close_vote")}</button>}
          {c.stage === "publicity" && <button type="button" onClick={step("award", "rating.awarded")}>{t("rating.award")}</button>}
        </p>
      )}
    </li>
  );
}

/// The campaigns one may take part in; for a committee, opening one and running it.
export function Ratings({ me }) {
  const grant = me.grants.find((g) => RUNS.includes(g.role));
  const scope = grant?.scope;
  const [campaigns, setCampaigns] = useState(null);
  const [people, setPeople] = useState([]);
  const [communities, setCommunities] = useState([]);
  const [rules, setRules] = useState([]);
  const load = async () => setCampaigns(await api("GET", scope ? `/api/rating-campaigns?territory=${scope}` : "/api/rating-campaigns"));
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => {
    load().catch((e) => setError(message(e)));
    if (scope) {
      api("GET", "/api/people?limit=500").then(setPeople, () => {});
      if (scope.length === 9) api("GET", `/api/territories?parent=${scope}&limit=1000`).then((p) => setCommunities(p.items || []), () => {});
      api("GET", `/api/points/rules?territory=${scope}`).then(setRules, () => {});
    }
  }, [scope]);
  const create = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const rule = f.get("rule");
    await api("POST", "/api/rating-campaigns", {
      territory_code: scope,
      kind: f.get("kind"),
      honour: f.get("honour"),
      title: f.get("title"),
      criteria: f.get("criteria"),
      places: Number(f.get("places")),
      nominations_close_ms: at(f.get("close")),
      vote_days: Number(f.get("vote_days")),
      publicity_days: Number(f.get("publicity_days")),
      rule_id: rule ? Number(rule) : null,
    });
    ev.target.reset();
    return t("rating.created");
  });
  if (!campaigns) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <>
      <section class="card">
        <h2>{t("rating.title")}</h2>
        <p class="muted">{t("rating.intro")} <a href="#/honours">{t("rating.board_link")}</a></p>
        {note && <p role="status" class="ok">{note}</p>}
        {error && <p role="alert" class="error">{error}</p>}
        {campaigns.length === 0 && <p class="muted">{t("rating.none")}</p>}
        <ul class="case-list" data-testid="campaigns">
          {campaigns.map((c) => <Campaign key={c.id} c={c} act={act} people={people} communities={communities} />)}
        </ul>
      </section>
      {scope && (
        <section class="card">
          <form aria-label={t("rating.create")} onSubmit={create}>
            <h2>{t("rating.create")}</h2>
            <label for="rc-title">{t("rating.field.title")}</label><input id="rc-title" name="title" required maxlength="80" />
            <div class="field-row">
              <span>
                <label for="rc-kind">{t("rating.field.kind")}</label>
                <select id="rc-kind" name="kind">
                  {["household", "person", ...(scope.length < 12 ? ["community"] : [])].map((k) => <option value={k} key={k}>{t(`rating.kind.${k}`)}</option>)}
                </select>
              </span>
              <span><label for="rc-honour">{t("rating.field.honour")}</label><input id="rc-honour" name="honour" required maxlength="30" placeholder="文明家庭" /></span>
              <span><label for="rc-places">{t("rating.field.places")}</label><input id="rc-places" name="places" type="number" min="1" max="100" value="10" required /></span>
            </div>
            <label for="rc-criteria">{t("rating.field.criteria")}</label><textarea id="rc-criteria" name="criteria" required maxlength="2000" />
            <div class="field-row">
              <span><label for="rc-close">{t("rating.field.nominations_close_ms")}</label><input id="rc-close" name="close" type="date" required /></span>
              <span><label for="rc-vote">{t("rating.field.vote_days")}</label><input id="rc-vote" name="vote_days" type="number" min="1" max="30" value="7" required /></span>
              <span><label for="rc-pub">{t("rating.field.publicity_days")}</label><input id="rc-pub" name="publicity_days" type="number" min="1" max="30" value="7" required /></span>
            </div>
            {rules.length > 0 && (
              <>
                <label for="rc-rule">{t("rating.field.rule_id")}</label>
                <select id="rc-rule" name="rule">
                  <option value="">{t("rating.no_points")}</option>
                  {rules.map((r) => <option value={r.id} key={r.id}>{r.name}（{t("rating.points", { n: r.points })}）</option>)}
                </select>
              </>
            )}
            <p><button type="submit">{t("rating.create")}</button></p>
          </form>
        </section>
      )}
    </>
  );
}

/// The honours board (榜样): open to everyone, signed in or not.
export function Honours() {
  const [honours, setHonours] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { api("GET", "/api/honours?limit=200").then(setHonours, (e) => setError(message(e))); }, []);
  if (!honours) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <section class="card">
      <h2>{t("rating.board")}</h2>
      <p class="muted">{t("rating.board_intro")}</p>
      {honours.length === 0 && <p class="muted">{t("rating.board_none")}</p>}
      <ul class="honours" data-testid="honours">
        {honours.map((h) => (
          <li key={h.nomination_id}>
            <span class="badge awarded">{h.honour}</span> <strong>{h.name}</strong>
            <p class="muted">{h.territory_name} · {h.campaign_title} · {formatTime(h.awarded_at_ms)}</p>
            <p>{h.deeds}</p>
          </li>
        ))}
      </ul>
    </section>
  );
}

// 微心愿: the small wishes of residents in need that their community posted (never naming
// them), for anyone to claim, fulfil with evidence and see confirmed; the resident confirms
// their own; the community's staff post them (with the resident's consent), confirm on a
// resident's word and withdraw. The server decides every step; the page says its refusals.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime, refusal } from "../../i18n.js";
import { useAct } from "../../act.js";

const message = (e) => refusal("wish", e);

function Wish({ w, act }) {
  const [step, setStep] = useState(null);
  const send = (path, body, said) => act(async () => (await api("POST", `/api/wishes/${w.id}/${path}`, body), said))();
  const form = (f) => (ev) => (ev.preventDefault(), f(new FormData(ev.target)));
  return (
    <li data-testid={`wish-${w.id}`}>
      <strong>{w.title}</strong> · <span class={w.state === "confirmed" ? "ok" : "muted"}>{t(`wish.state.${w.state}`)}</span>
      <p class="muted">
        {w.community_name} · {t("wish.value", { n: w.value_yuan })} · {formatTime(w.posted_at_ms)}
        {w.giver && w.state !== "open" && ` · ${t("wish.giver", { name: w.giver })}`}
      </p>
      {w.description && <p>{w.description}</p>}
      {w.beneficiary && <p class="muted">{t("wish.beneficiary", { name: w.beneficiary.name, consent: w.consent })}</p>}
      {w.evidence && <p>{t("wish.evidence_is", { e: w.evidence })}</p>}
      {w.thanks && <p class="ok">{t("wish.thanks_is", { e: w.thanks })}</p>}
      {w.state === "open" && step !== "claim" && (
        <button type="button" onClick={() => setStep("claim")}>{t("wish.claim")}</button>
      )}
      {step === "claim" && w.state === "open" && (
        <form aria-label={t("wish.claim")} onSubmit={form((f) => send("claim", { thank_publicly: f.get("public") === "on" }, t("wish.claimed")))}>
          <label class="inline"><input type="checkbox" name="public" /> {t("wish.thank_publicly")}</label>
          <p><button type="submit">{t("wish.claim_confirm")}</button></p>
        </form>
      )}
      {w.mine && w.state === "claimed" && (
        <form aria-label={t("wish.fulfil")} onSubmit={form((f) => send("fulfilment", { evidence: f.get("evidence") }, t("wish.fulfilled")))}>
          <label for={`ev-${w.id}`}>{t("wish.evidence")}</label>
          <textarea id={`ev-${w.id}`} name="evidence" required maxlength="2000" placeholder={t("wish.evidence_hint")} />
          <p>
            <button type="submit">{t("wish.fulfil")}</button>{" "}
            <button type="button" class="quiet" onClick={() => send("release", undefined, t("wish.released"))}>{t("wish.release")}</button>
          </p>
        </form>
      )}
      {w.may_confirm && (
        <form aria-label={t("wish.confirm")} onSubmit={form((f) => send("confirmation", { thanks: f.get("thanks") || null }, t("wish.confirmed")))}>
          <label for={`th-${w.id}`}>{t("wish.thanks")}</label>
          <input id={`th-${w.id}`} name="thanks" maxlength="200" />
          <p><button type="submit">{t("wish.confirm")}</button></p>
        </form>
      )}
      {w.may_manage && (w.state === "open" || w.state === "claimed") && (
        <button type="button" class="quiet" onClick={() => {
          const reason = window.prompt(t("wish.withdraw_reason"));
          if (reason) send("withdrawal", { reason }, t("wish.withdrawn"));
        }}>{t("wish.withdraw")}</button>
      )}
    </li>
  );
}

/// Everyone's page of small wishes; the community's staff also post them.
export function Wishes({ me }) {
  const grant = me.grants.find((g) => ["community_staff", "street_commander"].includes(g.role) && g.scope.length >= 12);
  const scope = grant?.scope;
  const [wishes, setWishes] = useState(null);
  const [mine, setMine] = useState([]);
  const [people, setPeople] = useState([]);
  const load = async () => {
    const [all, claimed] = await Promise.all([
      api("GET", scope ? `/api/wishes?territory=${scope}` : "/api/wishes"),
      api("GET", "/api/wishes?mine=true"),
    ]);
    setWishes(all);
    setMine(claimed.filter((w) => !all.some((x) => x.id === w.id)));
  };
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => {
    load().catch((e) => setError(message(e)));
    if (scope) api("GET", "/api/people?limit=500").then((p) => setPeople(p.filter((x) => (x.home_territory || "").startsWith(scope))), () => {});
  }, [scope]);
  const post = act(async () => {
    const form = document.getElementById("wish-new");
    const f = new FormData(form);
    const who = f.get("beneficiary");
    await api("POST", "/api/wishes", {
      territory_code: scope,
      title: f.get("title"),
      description: f.get("description") || "",
      value_yuan: Number(f.get("value")),
      beneficiary_person_id: who ? Number(who) : null,
      consent: f.get("consent"),
    });
    form.reset();
    return t("wish.posted");
  });
  if (!wishes) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <>
      <section class="card">
        <h2>{t("wish.title")}</h2>
        <p class="muted">{t("wish.intro")}</p>
        {note && <p role="status" class="ok">{note}</p>}
        {error && <p role="alert" class="error">{error}</p>}
        {wishes.length === 0 && <p class="muted">{t("wish.none")}</p>}
        <ul class="case-list" data-testid="wishes">
          {wishes.map((w) => <Wish key={`${w.id}-${w.state}`} w={w} act={act} />)}
        </ul>
      </section>
      {mine.length > 0 && (
        <section class="card">
          <h2>{t("wish.mine")}</h2>
          <ul class="case-list">{mine.map((w) => <Wish key={`${w.id}-${w.state}`} w={w} act={act} />)}</ul>
        </section>
      )}
      {scope && (
        <section class="card">
          <form id="wish-new" aria-label={t("wish.post")} onSubmit={(ev) => (ev.preventDefault(), post())}>
            <h2>{t("wish.post")}</h2>
            <p class="muted">{t("wish.post_intro")}</p>
            <label for="wi-title">{t("wish.field.title")}</label><input id="wi-title" name="title" required maxlength="60" />
            <label for="wi-desc">{t("wish.field.description")}</label><textarea id="wi-desc" name="description" maxlength="2000" />
            <label for="wi-value">{t("wish.field.value_yuan")}</label><input id="wi-value" name="value" type="number" min="1" max="1000" required />
            <label for="wi-who">{t("wish.field.beneficiary_person_id")}</label>
            <select id="wi-who" name="beneficiary">
              <option value="">{t("wish.no_record")}</option>
              {people.map((p) => <option value={p.id} key={p.id}>{p.name}</option>)}
            </select>
            <label for="wi-consent">{t("wish.field.consent")}</label>
            <input id="wi-consent" name="consent" required maxlength="100" placeholder={t("wish.consent_hint")} />
            <p><button type="submit">{t("wish.post")}</button></p>
          </form>
        </section>
      )}
    </>
  );
}

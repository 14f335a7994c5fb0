// 向群众汇报: residents read the reports their street and community leaders made to them,
// what was promised and how far it has come, and rate each once (anonymously; figures show
// once three have rated); the leaders publish a report with its commitments and record
// their progress. The server decides who may rate and when.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime, refusal } from "../../i18n.js";
import { useAct } from "../../act.js";

const message = (e) => refusal("report", e);

const day = (ms) => new Date(ms).toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" });

function RatingsText({ r }) {
  if (r.count === 0) return <span class="muted">{t("report.no_ratings")}</span>;
  if (r.mean === null) return <span class="muted">{t("report.few_ratings", { n: r.count })}</span>;
  return <span>{t("report.ratings", { n: r.count, mean: r.mean, share: Math.round(r.satisfied_share * 100) })}</span>;
}

function Rate({ label, onRate }) {
  return (
    <form class="rate" aria-label={label} onSubmit={(ev) => (ev.preventDefault(), onRate(Number(new FormData(ev.target).get("score"))))}>
      <fieldset>
        <legend>{label}</legend>
        {[5, 4, 3, 2, 1].map((s) => (
          <label class="inline" key={s}><input type="radio" name="score" value={s} required /> {t(`report.score.${s}`)}</label>
        ))}
      </fieldset>
      <p><button type="submit">{t("report.rate")}</button></p>
    </form>
  );
}

function Report({ r, act }) {
  const rate = act(async (score) => (await api("POST", `/api/official-reports/${r.id}/rating`, { score }), t("report.rated")));
  const rateC = (c) => act(async (score) => (await api("POST", `/api/official-commitments/${c.id}/rating`, { score }), t("report.rated")));
  const progress = (c) => act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    await api("POST", `/api/official-commitments/${c.id}/progress`, { progress: Number(f.get("progress")), note: f.get("note") || "" });
    return t("report.progress_saved");
  });
  return (
    <li data-testid={`report-${r.id}`}>
      <strong>{r.title}</strong>
      <p class="muted">
        {r.territory_name} · {r.official_name} · {t(`report.way.${r.way}`)} · {formatTime(r.held_at_ms)} · {r.place}
      </p>
      <p>{r.done}</p>
      <p><RatingsText r={r.ratings} />{r.i_rated && <span class="ok"> · {t("report.i_rated")}</span>}</p>
      {r.may_rate && <Rate label={t("report.rate_report")} onRate={rate} />}
      {r.commitments.length > 0 && (
        <>
          <h4>{t("report.commitments")}</h4>
          <ul class="commitments">
            {r.commitments.map((c) => (
              <li key={c.id}>
                {c.text} <span class="muted">· {t("report.due", { at: day(c.due_ms) })}</span>
                <br />
                <progress max="100" value={c.progress} aria-label={t("report.progress_of", { text: c.text })} /> {c.progress}%
                {c.progress_note && <span class="muted"> · {c.progress_note}</span>}
                <br />
                <RatingsText r={c.ratings} />{c.i_rated && <span class="ok"> · {t("report.i_rated")}</span>}
                {c.may_rate && <Rate label={t("report.rate_commitment", { text: c.text })} onRate={rateC(c)} />}
                {r.may_manage && (
                  <form class="field-row" aria-label={t("report.progress_of", { text: c.text })} onSubmit={progress(c)}>
                    <span><label for={`pg-${c.id}`}>{t("report.progress")}</label>
                      <input id={`pg-${c.id}`} name="progress" type="number" min="0" max="100" value={c.progress} required /></span>
                    <span><label for={`pn-${c.id}`}>{t("report.progress_note")}</label><input id={`pn-${c.id}`} name="note" /></span>
                    <span><button type="submit">{t("report.save")}</button></span>
                  </form>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </li>
  );
}

/// The reports to one's street and community; for the leaders, publishing one.
export function Reports({ me }) {
  const grant = me.grants.find((g) => ["community_staff", "street_commander"].includes(g.role));
  const scope = grant?.scope;
  const [reports, setReports] = useState(null);
  const load = async () => setReports(await api("GET", scope ? `/api/official-reports?territory=${scope}` : "/api/official-reports"));
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => { load().catch((e) => setError(message(e))); }, [scope]);
  const publish = act(async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const at = (d, time) => new Date(`${d}T${time}:00+08:00`).getTime();
    const commitments = [1, 2, 3]
      .map((i) => ({ text: (f.get(`c${i}`) || "").trim(), due: f.get(`d${i}`) }))
      .filter((c) => c.text)
      .map((c) => ({ text: c.text, due_ms: c.due ? at(c.due, "18:00") : 0 }));
    await api("POST", "/api/official-reports", {
      territory_code: scope,
      title: f.get("title"),
      way: f.get("way"),
      held_at_ms: at(f.get("date"), f.get("time")),
      place: f.get("place"),
      done: f.get("done"),
      commitments,
    });
    ev.target.reset();
    return t("report.published");
  });
  if (!reports) return error ? <p class="error" role="alert">{error}</p> : null;
  return (
    <>
      <section class="card">
        <h2>{t("report.title")}</h2>
        <p class="muted">{t("report.intro")}</p>
        {note && <p role="status" class="ok">{note}</p>}
        {error && <p role="alert" class="error">{error}</p>}
        {reports.length === 0 && <p class="muted">{t("report.none")}</p>}
        <ul class="case-list" data-testid="reports">{reports.map((r) => <Report key={r.id} r={r} act={act} />)}</ul>
      </section>
      {scope && (
        <section class="card">
          <form aria-label={t("report.publish")} onSubmit={publish}>
            <h2>{t("report.publish")}</h2>
            <label for="rp-title">{t("report.field.title")}</label><input id="rp-title" name="title" required maxlength="60" />
            <label for="rp-way">{t("report.field.way")}</label>
            <select id="rp-way" name="way">
              <option value="meeting">{t("report.way.meeting")}</option>
              <option value="home_visits">{t("report.way.home_visits")}</option>
            </select>
            <div class="field-row">
              <span><label for="rp-date">{t("report.date")}</label><input id="rp-date" name="date" type="date" required /></span>
              <span><label for="rp-time">{t("report.time")}</label><input id="rp-time" name="time" type="time" required /></span>
            </div>
            <label for="rp-place">{t("report.field.place")}</label><input id="rp-place" name="place" required maxlength="100" />
            <label for="rp-done">{t("report.field.done")}</label><textarea id="rp-done" name="done" required maxlength="4000" />
            {[1, 2, 3].map((i) => (
              <div class="field-row" key={i}>
                <span><label for={`rp-c${i}`}>{t("report.commitment_n", { n: i })}</label><input id={`rp-c${i}`} name={`c${i}`} maxlength="200" /></span>
                <span><label for={`rp-d${i}`}>{t("report.due_label", { n: i })}</label><input id={`rp-d${i}`} name={`d${i}`} type="date" /></span>
              </div>
            ))}
            <p><button type="submit">{t("report.publish")}</button></p>
          </form>
        </section>
      )}
    </>
  );
}

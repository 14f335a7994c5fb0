// The public page of a case: what anyone may know (the Open311 read: no reporter, numbers
// in texts masked), with its public timeline.
import { useEffect, useState } from "preact/hooks";
import { t, formatTime } from "../../i18n.js";

export function PublicCase({ id }) {
  const [r, setR] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    fetch(`/open311/v2/requests/${id}.json?extensions=true`)
      .then((x) => x.json().then((b) => (x.ok ? setR(b[0]) : setError(b[0]?.description || `HTTP ${x.status}`))))
      .catch((e) => setError(e.message));
  }, [id]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!r) return null;
  const x = r.extended_attributes;
  return (
    <section class="card">
      <h2>{t("case.title", { id: r.service_request_id })} · {r.service_name}</h2>
      <dl class="facts">
        <dt>{t("case.status")}</dt><dd data-testid="public-status">{t(`status.${x.detailed_status}`)}</dd>
        <dt>{t("case.address")}</dt><dd>{r.address}</dd>
        <dt>{t("public.agency")}</dt><dd>{r.agency_responsible || "—"}</dd>
        <dt>{t("public.requested")}</dt><dd>{formatTime(Date.parse(r.requested_datetime))}</dd>
      </dl>
      <p data-testid="public-description">{r.description}</p>
      <h3>{t("case.timeline")}</h3>
      <ol class="timeline">
        {x.notes.map((n, i) => (
          <li key={i}><strong>{t(`event.${n.type}`)}</strong> <span class="muted">{formatTime(Date.parse(n.datetime))}</span>{n.description && <div>{n.description}</div>}</li>
        ))}
      </ol>
    </section>
  );
}

// The security auditor's page (三员分立: the administrators whose acts the log records do
// not read it): the newest entries first, page by page back, with who did what to which
// record, and the check of the whole hash chain.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

const PAGE = 50;

/// A label for a code, or the code itself where none is written (module actions).
function label(prefix, code) {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

function detailText(d) {
  if (!d || typeof d !== "object") return "";
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

export function AuditLog() {
  const [pages, setPages] = useState([]);
  const [more, setMore] = useState(true);
  const [error, setError] = useState(null);
  const [check, setCheck] = useState(null);
  const [checking, setChecking] = useState(false);

  async function load(before) {
    try {
      const rows = await api("GET", `/api/audit?before=${before}&limit=${PAGE}`);
      setPages((p) => [...p, rows]);
      setMore(rows.length === PAGE);
    } catch (e) {
      setError(e.status === 403 ? t("audit.forbidden") : t("error.generic", { message: e.message }));
    }
  }
  useEffect(() => {
    load(Number.MAX_SAFE_INTEGER);
  }, []);

  async function verify() {
    setChecking(true);
    try {
      setCheck(await api("GET", "/api/audit/verify"));
    } catch (e) {
      setError(t("error.generic", { message: e.message }));
    } finally {
      setChecking(false);
    }
  }

  const rows = pages.flat();
  const oldest = rows.length ? rows[rows.length - 1].seq : null;
  return (
    <section class="card">
      <h2>{t("audit.title")}</h2>
      <p class="muted">{t("audit.intro")}</p>
      <p>
        <button type="button" onClick={verify} disabled={checking}>
          {t("audit.verify")}
        </button>
      </p>
      {check && (
        <p class={check.intact ? "notice" : "error"} role="status">
          {check.intact
            ? t("audit.intact", { n: check.entries, hash: check.head_hash.slice(0, 16) })
            : t("audit.broken", { seq: check.broken_at_seq, reason: check.reason })}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="stack">
          <caption class="sr-only">{t("audit.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("audit.seq")}</th>
              <th scope="col">{t("audit.at")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.object")}</th>
              <th scope="col">{t("audit.detail")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.seq}>
                <td data-label={t("audit.seq")}>{e.seq}</td>
                <td data-label={t("audit.at")}>{formatTime(e.at_ms)}</td>
                <td data-label={t("audit.actor")}>{e.actor_name || (e.actor_id ? `#${e.actor_id}` : t("audit.system"))}</td>
                <td data-label={t("audit.action")} title={e.action}>
                  {label("audit.act", e.action)}
                </td>
                <td data-label={t("audit.object")}>
                  {label("audit.obj", e.object_type)} {e.object_id === "*" ? "" : `#${e.object_id}`}
                </td>
                <td class="detail" data-label={t("audit.detail")}>{detailText(e.detail)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more && oldest !== null && (
        <p>
          <button type="button" class="quiet" onClick={() => load(oldest)}>
            {t("audit.more")}
          </button>
        </p>
      )}
    </section>
  );
}

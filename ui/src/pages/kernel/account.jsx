// One's account: the second factor (an authenticator app's codes; required for
// administrators and auditors, optional for everyone else) and the password. The enrolment
// panel is also what the sign-in page shows an administrator without a second factor.
import { useEffect, useState } from "preact/hooks";
import { create as qrCode } from "qrcode";
import { api } from "../../api.js";
import { t } from "../../i18n.js";

/// The otpauth address as a QR code, drawn as SVG squares (no markup from elsewhere).
export function QrCode({ text }) {
  const m = qrCode(text, { errorCorrectionLevel: "M" }).modules;
  const cells = [];
  for (let y = 0; y < m.size; y++)
    for (let x = 0; x < m.size; x++) if (m.data[y * m.size + x]) cells.push(`M${x + 4} ${y + 4}h1v1h-1z`);
  const n = m.size + 8;
  return (
    <svg class="qr" viewBox={`0 0 ${n} ${n}`} role="img" aria-label={t("mfa.qr")} shape-rendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={cells.join("")} fill="#000" />
    </svg>
  );
}

/// The six-digit code field, with what the server said about it.
export function CodeField({ id, error }) {
  return (
    <>
      <label for={id}>{t("mfa.code")}</label>
      <input
        id={id}
        name="code"
        inputMode="numeric"
        autocomplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        maxLength={7}
        required
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error && (
        <p class="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </>
  );
}

/// How to add the new secret to an app: the QR code and the secret to type.
export function Enrolment({ challenge }) {
  const grouped = challenge.secret.match(/.{1,4}/g).join(" ");
  return (
    <div class="enrol">
      <p>{t("mfa.enrol_intro")}</p>
      <QrCode text={challenge.otpauth_url} />
      <p class="muted">
        {t("mfa.secret")} <code class="secret">{grouped}</code>
      </p>
    </div>
  );
}

export function Account({ me }) {
  const [state, setState] = useState(null);
  const [adding, setAdding] = useState(null);
  const [error, setError] = useState(null);
  const [codeError, setCodeError] = useState(null);
  const [notice, setNotice] = useState(null);
  const reload = () => api("GET", "/api/me/second-factor").then(setState, (e) => setError(e.message));
  useEffect(() => {
    reload();
  }, []);

  async function start() {
    setError(null);
    setNotice(null);
    try {
      setAdding(await api("POST", "/api/me/second-factor"));
    } catch (e) {
      setError(e.message);
    }
  }
  async function confirmCode(e) {
    e.preventDefault();
    setCodeError(null);
    try {
      await api("POST", "/api/me/second-factor/confirm", { challenge: adding.challenge, code: new FormData(e.target).get("code") });
      setAdding(null);
      setNotice(t("mfa.added"));
      reload();
    } catch (err) {
      setCodeError(err.field === "code" ? t("mfa.wrong") : err.message);
    }
  }
  async function remove(e) {
    e.preventDefault();
    setCodeError(null);
    try {
      await api("DELETE", "/api/me/second-factor", { code: new FormData(e.target).get("code") });
      setNotice(t("mfa.removed"));
      reload();
    } catch (err) {
      setCodeError(err.field === "code" ? t("mfa.wrong") : err.message);
    }
  }
  async function changePassword(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    setNotice(null);
    try {
      await api("POST", "/api/me/password", { current_password: f.get("current"), new_password: f.get("new") });
      e.target.reset();
      setNotice(t("account.password_changed"));
    } catch (err) {
      setError(err.message);
    }
  }

  return (
    <>
      <section class="card">
        <h2>{t("account.title")}</h2>
        <p class="muted">{t("account.signed_in_as", { name: me.person.name })}</p>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <h3>{t("mfa.section")}</h3>
        {state === null ? null : state.enrolled ? (
          <>
            <p>
              <span class="badge good">{t("mfa.on")}</span> {t("mfa.on_intro")}
            </p>
            {state.required ? (
              <p class="muted">{t("mfa.required")}</p>
            ) : (
              <form onSubmit={remove}>
                <CodeField id="remove-code" error={codeError} />
                <p>
                  <button type="submit" class="quiet">
                    {t("mfa.remove")}
                  </button>
                </p>
              </form>
            )}
          </>
        ) : adding ? (
          <form onSubmit={confirmCode}>
            <Enrolment challenge={adding} />
            <CodeField id="add-code" error={codeError} />
            <p>
              <button type="submit">{t("mfa.confirm")}</button>
            </p>
          </form>
        ) : (
          <>
            <p>
              <span class="badge">{t("mfa.off")}</span> {t("mfa.off_intro")}
            </p>
            <p>
              <button type="button" onClick={start}>
                {t("mfa.add")}
              </button>
            </p>
          </>
        )}
      </section>
      <section class="card">
        <h3>{t("account.password")}</h3>
        <form onSubmit={changePassword}>
          <label for="pw-current">{t("account.current")}</label>
          <input id="pw-current" name="current" type="password" autocomplete="current-password" required />
          <label for="pw-new">{t("account.new")}</label>
          <input id="pw-new" name="new" type="password" autocomplete="new-password" minLength={10} required />
          <p class="muted">{t("account.rules")}</p>
          <p>
            <button type="submit">{t("account.change")}</button>
          </p>
        </form>
      </section>
    </>
  );
}

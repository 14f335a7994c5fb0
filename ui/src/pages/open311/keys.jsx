// Administration of Open311 API keys: list, create (the key is shown once), revoke.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime } from "../../i18n.js";

export function Open311Keys() {
  const [keys, setKeys] = useState(null);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const reload = () =>
    api("GET", "/api/open311/keys").then(setKeys, (e) =>
      setError(e.status === 403 ? t("keys.forbidden") : t("error.generic", { message: e.message })),
    );
  useEffect(() => {
    reload();
  }, []);

  async function create(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    try {
      const k = await api("POST", "/api/open311/keys", {
        name: f.get("name"),
        rate_per_minute: Number(f.get("rate")),
      });
      setCreated(k);
      e.target.reset();
      reload();
    } catch (err) {
      setError(t("error.generic", { message: err.message }));
    }
  }

  async function revoke(k) {
    if (!confirm(t("keys.confirm", { name: k.name }))) return;
    try {
      await api("DELETE", `/api/open311/keys/${k.id}`);
      reload();
    } catch (err) {
      setError(t("error.generic", { message: err.message }));
    }
  }

  return (
    <>
      <section class="card">
        <h2>{t("keys.title")}</h2>
        <p class="muted">{t("keys.intro")}</p>
        <form onSubmit={create}>
          <label for="key-name">{t("keys.name")}</label>
          <input id="key-name" name="name" required maxLength={100} />
          <label for="key-rate">{t("keys.rate")}</label>
          <input id="key-rate" name="rate" type="number" min="1" max="1000000" value="600" required />
          <p>
            <button type="submit">{t("keys.create")}</button>
          </p>
        </form>
        {created && (
          <p class="notice" role="status">
            {t("keys.created")} <code data-testid="new-key">{created.api_key}</code>
          </p>
        )}
        {error && <p class="error" role="alert">{error}</p>}
      </section>
      <section class="card">
        <h2>{t("keys.list")}</h2>
        {keys && keys.length === 0 && <p class="muted">{t("keys.empty")}</p>}
        {keys && keys.length > 0 && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t("keys.list")}>
            <table>
              <thead>
                <tr>
                  {["id", "name", "rate", "created", "state", "action"].map((c) => (
                    <th scope="col" key={c}>{t(`keys.col.${c}`)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id}>
                    <td>{k.id}</td>
                    <td>{k.name}</td>
                    <td>{k.rate_per_minute}</td>
                    <td>{formatTime(k.created_at_ms)}</td>
                    <td class={k.revoked ? "muted" : "ok"}>{k.revoked ? t("keys.revoked") : t("keys.active")}</td>
                    <td>
                      {!k.revoked && (
                        <button class="quiet" type="button" onClick={() => revoke(k)} aria-label={`${t("keys.revoke")} ${k.name}`}>
                          {t("keys.revoke")}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

// The citizen portal's report form (phone-first): what, which category, where (map pin or
// current position), anonymous or not, a photo. A retried submission is the same case.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { MapPick } from "../kernel/map_pick.jsx";
import { Suggestions, Duplicates } from "../text/text.jsx";

const KINDS = ["report", "request", "complaint", "dispute", "emergency", "suggestion", "consultation"];

export function Report({ me }) {
  const patrol = me.grants.some((g) => g.role === "grid_worker" || g.role === "steward");
  const [fixed, setFixed] = useState(false);
  const [anonymous, setAnonymous] = useState(false);
  const [shown, setShown] = useState(true);
  const [categories, setCategories] = useState([]);
  const [outline, setOutline] = useState(null);
  const [point, setPoint] = useState(null);
  const [error, setError] = useState(null);
  const [key] = useState(() => crypto.randomUUID());
  const [subject, setSubject] = useState("");
  const [detail, setDetail] = useState("");
  const [category, setCategory] = useState("");
  useEffect(() => {
    api("GET", "/api/categories").then(setCategories, () => {});
    const home = me.grants.find((g) => ["resident", "grid_worker", "steward"].includes(g.role)) || me.grants[0];
    if (home) api("GET", `/api/map/outline/${home.scope}`).then((o) => setOutline(o.geometry), () => {});
  }, []);
  const groups = {};
  const names = Object.fromEntries(categories.map((c) => [c.code, c.name]));
  for (const c of categories.filter((c) => c.leaf && c.kind !== "component")) {
    (groups[c.parent_code] ||= []).push(c);
  }
  function here() {
    navigator.geolocation?.getCurrentPosition((p) =>
      setPoint({ lon: Number(p.coords.longitude.toFixed(7)), lat: Number(p.coords.latitude.toFixed(7)) }),
    );
  }
  async function submit(e) {
    e.preventDefault();
    setError(null);
    if (!point) return setError(t("report.nopoint"));
    const f = new FormData(e.target);
    try {
      const c = await api("POST", "/api/cases", {
        channel: patrol ? "grid" : "app",
        kind: f.get("kind"),
        subject: f.get("subject"),
        description: f.get("description"),
        category: f.get("category") || null,
        lon: point.lon,
        lat: point.lat,
        anonymous: f.get("anonymous") === "on",
        // The reporter decides whether the case is shown publicly (never when anonymous).
        public: patrol ? null : f.get("public") === "on",
        idempotency_key: key,
        fixed_on_spot: patrol && fixed ? f.get("fixed_result") : null,
      });
      const photo = f.get("photo");
      if (photo && photo.size > 0) {
        await fetch(`/api/cases/${c.id}/attachments?name=${encodeURIComponent(photo.name)}`, {
          method: "POST",
          headers: { "x-csrf-token": sessionStorage.getItem("wuzhi.csrf") || "", "content-type": photo.type },
          body: photo,
        });
      }
      location.hash = `#/cases/${c.id}`;
    } catch (err) {
      setError(err.field ? `${err.field}: ${err.message}` : err.message);
    }
  }
  return (
    <section class="card">
      <h2>{patrol ? t("report.patrol") : t("report.title")}</h2>
      <form onSubmit={submit}>
        <label for="r-kind">{t("report.kind")}</label>
        <select id="r-kind" name="kind">
          {KINDS.map((k) => <option value={k} key={k}>{t(`kind.${k}`)}</option>)}
        </select>
        <label for="r-subject">{t("report.subject")}</label>
        <input id="r-subject" name="subject" required maxLength={100} value={subject} onInput={(e) => setSubject(e.target.value)} />
        <label for="r-description">{t("report.description")}</label>
        <textarea id="r-description" name="description" required maxLength={5000} rows={4} value={detail} onInput={(e) => setDetail(e.target.value)}></textarea>
        <label for="r-category">{t("report.category")}</label>
        <Suggestions subject={subject} detail={detail} onPick={setCategory} />
        <select id="r-category" name="category" value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">{t("report.category.none")}</option>
          {Object.entries(groups).map(([parent, list]) => (
            <optgroup label={names[parent] || parent} key={parent}>
              {list.map((c) => <option value={c.code} key={c.code}>{c.name}</option>)}
            </optgroup>
          ))}
        </select>
        <p id="r-where">{t("report.where")}</p>
        <MapPick outline={outline} point={point} onPick={(lon, lat) => setPoint({ lon, lat })} label={t("report.where")} />
        <p>
          <button type="button" class="quiet" onClick={here}>{t("report.here")}</button>{" "}
          <span role="status" data-testid="picked">{point ? t("report.picked", point) : ""}</span>
        </p>
        {point && <Duplicates draft={{ subject, detail, lon: point.lon, lat: point.lat }} />}
        {patrol ? (
          <>
            <label class="inline">
              <input type="checkbox" checked={fixed} onChange={(e) => setFixed(e.target.checked)} /> {t("report.fixed")}
            </label>
            {fixed && (
              <>
                <label for="r-fixed">{t("report.fixed_result")}</label>
                <textarea id="r-fixed" name="fixed_result" required rows={2}></textarea>
              </>
            )}
          </>
        ) : (
          <>
            <label class="inline">
              <input type="checkbox" name="anonymous" checked={anonymous} onChange={(e) => setAnonymous(e.target.checked)} /> {t("report.anonymous")}
            </label>
            <label class="inline">
              <input type="checkbox" name="public" data-testid="public" checked={shown && !anonymous} disabled={anonymous}
                onChange={(e) => setShown(e.target.checked)} /> {t("report.public")}
            </label>
          </>
        )}
        <label for="r-photo">{t("report.photo")}</label>
        <input id="r-photo" name="photo" type="file" accept="image/*" />
        <p><button type="submit">{t("report.submit")}</button></p>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </section>
  );
}

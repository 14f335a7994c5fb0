// 积分制: a resident's points (what they may spend, what waits out its publicity, each
// transfer with its reason), the community's points shop, and an objection to a deduction;
// for the community's staff, the earning rules, awards, deductions by a recorded decision
// and the shop's items. The server enforces every rule; the page says what it refused.
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t, formatTime } from "../../i18n.js";
import { useAct } from "../../act.js";

// The server's refusals the pages can say in the reader's words (the field names the case);
// any other is shown as the server gave it, after its field's name.
const message = (e) => {
  if (!e.field) return e.message;
  const said = t(`points.err.${e.field}`);
  return `${t(`points.field.${e.field}`)}：${said === `points.err.${e.field}` || e.status !== 409 ? e.message : said}`;
};

function Entry({ e, onObject }) {
  const tr = e.transfer;
  const [open, setOpen] = useState(false);
  const objectable = tr.kind === "deduct" && tr.state === "pending" && !tr.objected_at_ms && e.change < 0;
  return (
    <li>
      <span class={e.change > 0 ? "ok" : "error"}>{e.change > 0 ? `+${e.change}` : e.change}</span>{" "}
      <strong>{t(`points.kind.${tr.kind}`)}</strong> · {tr.reason}{" "}
      <span class="muted">
        {formatTime(tr.created_at_ms)} · {t(`points.state.${tr.state}`)}
        {tr.state === "pending" && tr.posts_at_ms && !tr.objected_at_ms ? ` · ${t("points.posts_at", { at: formatTime(tr.posts_at_ms) })}` : ""}
        {tr.objected_at_ms ? ` · ${t("points.objected")}` : ""}
      </span>
      {objectable && !open && (
        <button type="button" class="quiet" onClick={() => setOpen(true)}>{t("points.object")}</button>
      )}
      {open && (
        <form onSubmit={(ev) => (ev.preventDefault(), onObject(tr.id, new FormData(ev.target).get("objection")))}>
          <label for={`obj-${tr.id}`}>{t("points.objection")}</label>
          <textarea id={`obj-${tr.id}`} name="objection" required maxlength="2000" />
          <p><button type="submit">{t("points.object_send")}</button></p>
        </form>
      )}
    </li>
  );
}

export function MyPoints() {
  const [account, setAccount] = useState(undefined);
  const [entries, setEntries] = useState([]);
  const [items, setItems] = useState([]);
  const [household, setHousehold] = useState(null);
  const load = async () => {
    try {
      const a = await api("GET", "/api/points/me");
      setAccount(a);
      setHousehold(await api("GET", "/api/points/me/household"));
      setEntries(a ? await api("GET", `/api/points/accounts/${a.id}/statement`) : []);
      setItems(await api("GET", "/api/points/items"));
    } catch (e) {
      setError(message(e));
    }
  };
  const { note, error, setError, act } = useAct(load, message);
  useEffect(() => { load(); }, []);
  // One key per click, so a retried request counts once.
  const redeem = act(async (item) => {
    await api("POST", `/api/points/items/${item.id}/redemptions`, { key: `${item.id}-${Date.now()}` });
    return t("points.redeemed", { name: item.name });
  });
  const object = act(async (id, objection) => {
    await api("POST", `/api/points/transfers/${id}/objection`, { objection });
    return t("points.object_sent");
  });
  if (account === undefined) return error ? <p class="error" role="alert">{error}</p> : null;
  const available = account?.available ?? 0;
  return (
    <>
      <section class="card">
        <h2>{t("points.mine")}</h2>
        <p class="points-total" data-testid="points-available">
          <strong>{available}</strong> {t("points.available")}
        </p>
        {account && (
          <p class="muted">
            {t("points.balance", { n: account.balance })}
            {account.pending_in > 0 && ` · ${t("points.pending_in", { n: account.pending_in })}`}
            {account.pending_out > 0 && ` · ${t("points.pending_out", { n: account.pending_out })}`}
          </p>
        )}
        {!account && <p class="muted">{t("points.none_yet")}</p>}
        {household && (
          <p data-testid="points-household">
            {t("points.household", { name: household.name, n: household.balance })}
            {household.pending_in > 0 && <span class="muted"> · {t("points.pending_in", { n: household.pending_in })}</span>}
          </p>
        )}
        {note && <p role="status" class="ok">{note}</p>}
        {error && <p role="alert" class="error">{error}</p>}
      </section>
      <section class="card">
        <h2>{t("points.shop")}</h2>
        {items.length === 0 && <p class="muted">{t("points.shop_empty")}</p>}
        <ul class="case-list">
          {items.map((i) => (
            <li key={i.id}>
              <strong>{i.name}</strong> · {t("points.price", { n: i.price })} · <span class="muted">{t("points.stock", { n: i.stock })}</span>{" "}
              <button type="button" disabled={i.price > available || i.stock === 0} onClick={() => redeem(i)}>
                {t("points.redeem")}
              </button>
            </li>
          ))}
        </ul>
      </section>
      {entries.length > 0 && (
        <section class="card">
          <h2>{t("points.statement")}</h2>
          <ul class="case-list" data-testid="points-statement">
            {entries.map((e) => <Entry key={e.transfer.id} e={e} onObject={object} />)}
          </ul>
        </section>
      )}
    </>
  );
}

/// The community's staff keep its points: the posts' community is the territory.
export function PointsAdmin({ me }) {
  const community = me.grants.find((g) => g.role === "community_staff")?.scope;
  const [rules, setRules] = useState([]);
  const [people, setPeople] = useState([]);
  const [items, setItems] = useState([]);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const load = () => {
    if (!community) return;
    api("GET", `/api/points/rules?territory=${community}`).then(setRules, (e) => setError(message(e)));
    api("GET", "/api/people?limit=500").then((p) => setPeople(p.filter((x) => (x.home_territory || "").startsWith(community))), () => {});
    api("GET", `/api/points/items?territory=${community}`).then(setItems, () => {});
  };
  useEffect(load, [community]);
  const submit = (f) => async (e) => {
    e.preventDefault();
    setError(null);
    setNote(null);
    try {
      setNote(await f(new FormData(e.target)));
      e.target.reset();
      load();
    } catch (err) {
      setError(message(err));
    }
  };
  const num = (v) => (v === "" || v === null ? null : Number(v));
  const addRule = submit(async (f) => {
    await api("POST", "/api/points/rules", {
      territory_code: community, code: f.get("code"), name: f.get("name"), points: num(f.get("points")),
      publicity_days: num(f.get("publicity")) ?? 0, valid_days: num(f.get("valid")),
    });
    return t("points.rule_added");
  });
  const award = submit(async (f) => {
    const r = await api("POST", "/api/points/awards", { person_id: num(f.get("person")), rule_id: num(f.get("rule")), reason: f.get("reason") });
    return r.state === "pending" ? t("points.awarded_pending", { at: formatTime(r.posts_at_ms) }) : t("points.awarded");
  });
  const deduct = submit(async (f) => {
    await api("POST", "/api/points/deductions", { person_id: num(f.get("person")), points: num(f.get("points")), decision: f.get("decision"), reason: f.get("reason") });
    return t("points.deducted");
  });
  const addItem = submit(async (f) => {
    await api("POST", "/api/points/items", { territory_code: community, name: f.get("name"), price: num(f.get("price")), stock: num(f.get("stock")) });
    return t("points.item_added");
  });
  if (!community) return <p class="error" role="alert">{t("points.staff_only")}</p>;
  const personPicker = (id) => (
    <select id={id} name="person" required>
      {people.map((p) => <option value={p.id} key={p.id}>{p.name}</option>)}
    </select>
  );
  return (
    <>
      <section class="card">
        <h2>{t("points.admin")}</h2>
        <p class="muted">{t("points.admin_intro")}</p>
        {note && <p role="status" class="ok">{note}</p>}
        {error && <p role="alert" class="error">{error}</p>}
        <form onSubmit={award} aria-label={t("points.award")}>
          <h3>{t("points.award")}</h3>
          <label for="aw-person">{t("points.person")}</label>{personPicker("aw-person")}
          <label for="aw-rule">{t("points.rule")}</label>
          <select id="aw-rule" name="rule" required>
            {rules.map((r) => <option value={r.id} key={r.id}>{r.name}（{t("points.price", { n: r.points })}）</option>)}
          </select>
          <label for="aw-reason">{t("points.reason")}</label><input id="aw-reason" name="reason" required />
          <p><button type="submit" disabled={rules.length === 0}>{t("points.award")}</button></p>
        </form>
        <form onSubmit={deduct} aria-label={t("points.deduct")}>
          <h3>{t("points.deduct")}</h3>
          <p class="muted">{t("points.deduct_intro")}</p>
          <label for="de-person">{t("points.person")}</label>{personPicker("de-person")}
          <label for="de-points">{t("points.points")}</label><input id="de-points" name="points" type="number" min="1" required />
          <label for="de-decision">{t("points.decision")}</label><input id="de-decision" name="decision" required />
          <label for="de-reason">{t("points.reason")}</label><input id="de-reason" name="reason" required />
          <p><button type="submit">{t("points.deduct")}</button></p>
        </form>
      </section>
      <section class="card">
        <h2>{t("points.rules")}</h2>
        <ul class="case-list">
          {rules.map((r) => (
            <li key={r.id}>
              <strong>{r.name}</strong> · {t("points.price", { n: r.points })}
              <span class="muted"> · {r.publicity_days > 0 ? t("points.publicity", { n: r.publicity_days }) : t("points.at_once")}
                {r.valid_days ? ` · ${t("points.valid", { n: r.valid_days })}` : ""}</span>
            </li>
          ))}
        </ul>
        <form onSubmit={addRule} aria-label={t("points.rule_new")}>
          <h3>{t("points.rule_new")}</h3>
          <label for="ru-code">{t("points.code")}</label><input id="ru-code" name="code" required pattern="[A-Za-z0-9_]+" />
          <label for="ru-name">{t("points.name")}</label><input id="ru-name" name="name" required />
          <label for="ru-points">{t("points.points")}</label><input id="ru-points" name="points" type="number" min="1" required />
          <label for="ru-publicity">{t("points.publicity_days")}</label><input id="ru-publicity" name="publicity" type="number" min="0" value="0" />
          <label for="ru-valid">{t("points.valid_days")}</label><input id="ru-valid" name="valid" type="number" min="1" />
          <p><button type="submit">{t("points.rule_add")}</button></p>
        </form>
      </section>
      <section class="card">
        <h2>{t("points.shop")}</h2>
        <ul class="case-list">
          {items.map((i) => <li key={i.id}><strong>{i.name}</strong> · {t("points.price", { n: i.price })} · {t("points.stock", { n: i.stock })}</li>)}
        </ul>
        <form onSubmit={addItem} aria-label={t("points.item_new")}>
          <h3>{t("points.item_new")}</h3>
          <label for="it-name">{t("points.name")}</label><input id="it-name" name="name" required />
          <label for="it-price">{t("points.price_label")}</label><input id="it-price" name="price" type="number" min="1" required />
          <label for="it-stock">{t("points.stock_label")}</label><input id="it-stock" name="stock" type="number" min="0" required />
          <p><button type="submit">{t("points.item_add")}</button></p>
        </form>
      </section>
    </>
  );
}

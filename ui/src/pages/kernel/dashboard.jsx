// Dashboards: the evaluation indicators for the part of the tree the viewer may see, and
// the ranking of the units below as a bar chart (SVG drawn here: no chart library needed).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../api.js";
import { t } from "../../i18n.js";
import { HotTopics } from "../text/text.jsx";

const RATES = ["closing_rate", "on_time_closing_rate", "satisfaction_rate", "accurate_dispatch_rate", "on_time_filing_rate", "rework_rate"];
const COUNTS = ["filed", "should_close", "closed"];
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

function Bars({ rows, label }) {
  const w = 360, bar = 22, gap = 6, left = 120;
  const h = rows.length * (bar + gap);
  return (
    <svg viewBox={`0 0 ${w} ${h}`} width="100%" role="img" aria-label={label} class="bars">
      {rows.map((r, i) => {
        const v = r.indicators.closing_rate ?? 0;
        return (
          <g key={r.key} transform={`translate(0 ${i * (bar + gap)})`}>
            <text x={left - 6} y={bar * 0.7} text-anchor="end" font-size="12">{r.name.slice(0, 9)}</text>
            <rect x={left} y="0" width={(w - left - 56) * v} height={bar} fill="#b3261e"></rect>
            <text x={left + (w - left - 56) * v + 4} y={bar * 0.7} font-size="12">{pct(r.indicators.closing_rate)}</text>
          </g>
        );
      })}
    </svg>
  );
}

/// Weekly filed and closed counts, as two lines.
function Trend({ weeks }) {
  const w = 320, h = 140, pad = 24;
  const max = Math.max(1, ...weeks.flatMap((x) => [x.filed, x.closed]));
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, weeks.length - 1);
  const y = (v) => h - pad - (v / max) * (h - 2 * pad);
  const line = (k) => weeks.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" ");
  return (
    <svg viewBox={`0 0 ${w} ${h}`} width="100%" role="img" aria-label={t("dash.trend")} class="trend">
      <path d={line("filed")} fill="none" stroke="#1f6feb" stroke-width="2" />
      <path d={line("closed")} fill="none" stroke="#b3261e" stroke-width="2" />
      {weeks.map((p, i) => <text key={i} x={x(i)} y={h - 6} font-size="9" text-anchor="middle">{p.label}</text>)}
      <text x={pad} y={12} font-size="10" fill="#1f6feb">{t("kpi.filed")}</text>
      <text x={pad + 60} y={12} font-size="10" fill="#b3261e">{t("kpi.closed")}</text>
      <text x={w - pad} y={12} font-size="10" text-anchor="end">max {max}</text>
    </svg>
  );
}

const day = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 10);

/// Grid work's outcomes over the last 30 days in the caller's territory: patrol coverage,
/// problems found and fixed on the spot, households visited against plan, key tasks on time.
function GridWorkOutcomes({ territory }) {
  const [v, setV] = useState(null);
  useEffect(() => {
    if (territory) api("GET", `/api/gridwork/indicators?territory=${territory}`).then(setV, () => {});
  }, [territory]);
  if (!v) return null;
  const c = v.counts;
  const r = v.rates;
  return (
    <section class="card" aria-labelledby="gw-dash">
      <h2 id="gw-dash">{t("dash.gridwork", { name: v.territory_name || v.territory_code })}</h2>
      <div class="tiles">
        <div class="tile"><div class="tile-v" data-testid="gw-coverage">{pct(r.patrol_coverage)}</div><div>{t("gw.ind.coverage", { n: c.grids_patrolled, of: c.grids })}</div></div>
        <div class="tile"><div class="tile-v">{c.found}</div><div>{t("gw.ind.found")}</div></div>
        <div class="tile"><div class="tile-v">{pct(r.self_fix_rate)}</div><div>{t("gw.ind.self_fix")}</div></div>
        <div class="tile"><div class="tile-v">{v.visit_plan_counted ? pct(r.visit_rate) : "—"}</div><div>{t("gw.ind.visits", { n: c.households_visited, of: c.households_due })}</div></div>
        <div class="tile"><div class="tile-v">{pct(r.key_task_on_time_rate)}</div><div>{t("gw.ind.tasks", { n: c.shares_done_on_time, of: c.shares_due })}</div></div>
        <div class="tile"><div class="tile-v">{c.notes}</div><div>{t("gw.ind.notes")}</div></div>
      </div>
      <p>
        <a href={`/api/gridwork/indicators/breakdown?territory=${v.territory_code}&format=csv`}>{t("dash.gridwork_export")}</a>
      </p>
    </section>
  );
}

/// What residents say of the territory's officials (向群众汇报): their ratings of the reports
/// and of the promises, beside the case indicators; figures once three have rated.
function ResidentsJudgement({ territory }) {
  const [v, setV] = useState(null);
  useEffect(() => {
    if (territory) api("GET", `/api/official-reports/satisfaction?territory=${territory}`).then(setV, () => {});
  }, [territory]);
  if (!v) return null;
  const tile = (key, r) => (
    <div class="tile" data-testid={`judgement-${key}`}>
      <div class="tile-v">{r.satisfied_share === null ? "—" : pct(r.satisfied_share)}</div>
      <div>{t(`dash.judgement.${key}`)}</div>
      <div class="muted">{r.mean === null ? t("dash.judgement.few", { n: r.count }) : t("dash.judgement.mean", { n: r.count, mean: r.mean })}</div>
    </div>
  );
  return (
    <section class="card" aria-labelledby="judgement">
      <h2 id="judgement">{t("dash.judgement")}</h2>
      <p class="muted">{t("dash.judgement_intro")}</p>
      <div class="tiles">{tile("reports", v.reports)}{tile("commitments", v.commitments)}</div>
    </section>
  );
}

export function Dashboard({ me }) {
  const [weeks, setWeeks] = useState(null);
  const [kpi, setKpi] = useState(null);
  const [ranking, setRanking] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api("GET", "/api/kpi").then(setKpi, (e) => setError(e.message));
    api("GET", "/api/kpi/ranking?by=township&sort=closing_rate").then((r) => setRanking(r.slice(0, 10)), () => {});
    const now = Date.now();
    Promise.all(
      Array.from({ length: 8 }, (_, k) => {
        const to = now - (7 - k) * 7 * 86400e3;
        const from = to - 6 * 86400e3;
        return api("GET", `/api/kpi?from=${day(from)}&to=${day(to)}`).then((v) => ({
          label: day(from).slice(5),
          filed: v.indicators.filed,
          closed: v.indicators.closed,
        }));
      }),
    ).then(setWeeks, () => {});
  }, []);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!kpi) return null;
  const i = kpi.indicators;
  return (
    <>
      <section class="card">
        <h2>{t("dash.title")}</h2>
        <p class="muted">{t("dash.period", { from: kpi.from, to: kpi.to })}</p>
        <div class="tiles">
          {COUNTS.map((k) => (
            <div class="tile" key={k}><div class="tile-v" data-testid={`kpi-${k}`}>{i[k]}</div><div>{t(`kpi.${k}`)}</div></div>
          ))}
          {RATES.map((k) => (
            <div class="tile" key={k}><div class="tile-v" data-testid={`kpi-${k}`}>{pct(i[k])}</div><div>{t(`kpi.${k}`)}</div></div>
          ))}
          <div class="tile"><div class="tile-v">{i.mean_handling_hours ?? "—"}</div><div>{t("kpi.mean_handling_hours")}</div></div>
          <div class="tile"><div class="tile-v">{i.p90_handling_hours ?? "—"}</div><div>{t("kpi.p90_handling_hours")}</div></div>
        </div>
      </section>
      <ResidentsJudgement territory={me?.grants?.map((g) => g.scope).sort((a, b) => a.length - b.length)[0]} />
      {weeks && (
        <section class="card">
          <h2>{t("dash.trend")}</h2>
          <Trend weeks={weeks} />
          <p class="muted" data-testid="trend-total">{t("dash.trend_total", { filed: weeks.reduce((s, w) => s + w.filed, 0) })}</p>
        </section>
      )}
      {ranking && ranking.length > 0 && (
        <section class="card">
          <h2>{t("dash.ranking")}</h2>
          <Bars rows={ranking} label={t("dash.ranking")} />
          <p><a href="/api/kpi/ranking?by=township&sort=closing_rate&format=xlsx">{t("dash.export")}</a></p>
        </section>
      )}
      <GridWorkOutcomes territory={me?.grants?.map((g) => g.scope).sort((a, b) => a.length - b.length)[0]} />
      <HotTopics />
    </>
  );
}

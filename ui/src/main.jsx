// The wuzhi web pages: one page application over the JSON API, routed by the URL's hash.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, login, logout, answerSecondFactor, ApiError } from "./api.js";
import { t, lang, setLang } from "./i18n.js";
import { Open311Keys } from "./pages/open311/keys.jsx";
import { Report } from "./pages/cases/report.jsx";
import { Cases } from "./pages/cases/list.jsx";
import { CaseDetail } from "./pages/cases/case.jsx";
import { OneMap } from "./pages/kernel/map.jsx";
import { Dashboard } from "./pages/kernel/dashboard.jsx";
import { PublicCase } from "./pages/cases/public.jsx";
import { Admin } from "./pages/kernel/admin.jsx";
import { Account, CodeField, Enrolment } from "./pages/kernel/account.jsx";
import { AuditLog } from "./pages/kernel/audit.jsx";
import { Search } from "./pages/text/text.jsx";
import { Archives, MyData, Building } from "./pages/archives/archives.jsx";
import { GridWork } from "./pages/gridwork/gridwork.jsx";
import { Tasks } from "./pages/gridwork/tasks.jsx";
import { CommunityWork } from "./pages/gridwork/community.jsx";
import { Warnings, WarningDetail, WarningSettings } from "./pages/warnings/warnings.jsx";
import { MyPoints, PointsAdmin } from "./pages/virtue/points.jsx";
import { Volunteer, VolunteerAdmin, VolunteerCertificate } from "./pages/virtue/volunteer.jsx";
import { Wishes } from "./pages/virtue/wishes.jsx";
import { Reports } from "./pages/virtue/reports.jsx";
import { Ratings, Honours } from "./pages/virtue/ratings.jsx";
import "./base.css";

function useRoute() {
  const [route, setRoute] = useState(location.hash.slice(1) || "/");
  useEffect(() => {
    const on = () => setRoute(location.hash.slice(1) || "/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function Login({ onDone }) {
  const [error, setError] = useState(null);
  const [challenge, setChallenge] = useState(null);
  const [codeError, setCodeError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setError(null);
    try {
      const s = await login(f.get("username"), f.get("password"));
      if (s.second_factor) setChallenge(s);
      else onDone();
    } catch (err) {
      setError(t("login.failed", { message: err.message }));
    }
  }
  async function answer(e) {
    e.preventDefault();
    setCodeError(null);
    try {
      await answerSecondFactor(challenge.challenge, new FormData(e.target).get("code"));
      onDone();
    } catch (err) {
      if (err.field === "code") setCodeError(t("mfa.wrong"));
      else {
        // Run out, locked, or used: back to the password.
        setChallenge(null);
        setError(t("login.failed", { message: err.message }));
      }
    }
  }
  if (challenge)
    return (
      <section class="card">
        <h2>{t(challenge.second_factor === "enrol" ? "mfa.enrol_title" : "mfa.title")}</h2>
        <form onSubmit={answer}>
          {challenge.second_factor === "enrol" ? <Enrolment challenge={challenge} /> : <p>{t("mfa.code_intro")}</p>}
          <CodeField id="login-code" error={codeError} />
          <p>
            <button type="submit">{t("login.submit")}</button>{" "}
            <button type="button" class="quiet" onClick={() => setChallenge(null)}>
              {t("mfa.back")}
            </button>
          </p>
        </form>
      </section>
    );
  return (
    <section class="card">
      <h2>{t("login.title")}</h2>
      <form onSubmit={submit}>
        <label for="username">{t("login.username")}</label>
        <input id="username" name="username" autocomplete="username" required />
        <label for="password">{t("login.password")}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <p>
          <button type="submit">{t("login.submit")}</button>
        </p>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </section>
  );
}

function Home({ me }) {
  return (
    <section class="card">
      <h2>{t("home.welcome", { name: me.person.name })}</h2>
      <h3>{t("home.posts")}</h3>
      {me.memberships.length === 0 ? (
        <p class="muted">{t("home.none")}</p>
      ) : (
        <ul>
          {me.memberships.map((m) => (
            <li key={m.id}>
              {t(`role.${m.role}`)} · {m.organisation_name}
              {m.post && m.post !== t(`role.${m.role}`) ? ` · ${m.post}` : ""}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState(undefined);
  // Who is signed in is kept in this browser, so the pages open without a network (grid
  // work offline); the server still decides every request.
  const load = () =>
    api("GET", "/api/me").then(
      (m) => {
        localStorage.setItem("wuzhi.me", JSON.stringify(m));
        setMe(m);
      },
      (e) => {
        if (e instanceof ApiError) localStorage.removeItem("wuzhi.me");
        setMe(e instanceof ApiError ? null : JSON.parse(localStorage.getItem("wuzhi.me") || "null"));
      },
    );
  useEffect(() => {
    load();
  }, []);
  const isAdmin = me?.grants?.some((g) => g.role === "admin" && g.scope.length === 6 && g.scope.endsWith("00"));
  const isResident = me?.grants?.some((g) => ["resident", "grid_worker", "steward"].includes(g.role));
  const isStaff = me?.grants?.some((g) => !["resident", "auditor", "security_admin"].includes(g.role));
  const readsArchives = me?.grants?.some((g) =>
    ["grid_worker", "community_staff", "street_commander", "dispatcher", "district_leader", "city_leader", "admin"].includes(g.role),
  );
  const doesGridWork = me?.grants?.some((g) => ["grid_worker", "steward"].includes(g.role) && g.scope.length === 15);
  const supervisesGrids = me?.grants?.some((g) => ["community_staff", "street_commander"].includes(g.role));
  const seesTasks = me?.grants?.some((g) =>
    ["grid_worker", "steward", "community_staff", "street_commander", "district_leader", "city_leader", "dispatcher"].includes(g.role),
  );
  const readsWarnings = me?.grants?.some((g) =>
    ["community_staff", "street_commander", "dispatcher", "district_leader", "city_leader", "admin"].includes(g.role),
  );
  const isAuditor = me?.grants?.some((g) => g.role === "auditor" && g.scope.length === 6 && g.scope.endsWith("00"));
  // 三员分立: the system administrator keeps the settings, the security administrator the
  // accounts and posts (of the territory their post covers).
  const managesAccounts = me?.grants?.some((g) => g.role === "security_admin");
  const keepsPoints = me?.grants?.some((g) => g.role === "community_staff");
  const organisesVolunteers = me?.grants?.some((g) => ["community_staff", "street_commander"].includes(g.role));
  const runsCampaigns = me?.grants?.some((g) => ["community_staff", "street_commander", "district_leader", "city_leader"].includes(g.role));
  // The auditor and the security administrator handle no cases.
  const onlyAudits = me?.grants?.length > 0 && me.grants.every((g) => ["auditor", "security_admin"].includes(g.role));
  const warningId = route.match(/^\/warnings\/(\d+)$/)?.[1];
  const publicId = route.match(/^\/public\/(\d+)$/)?.[1];
  const caseId = route.match(/^\/cases\/(\d+)$/)?.[1];
  const buildingId = route.match(/^\/archives\/buildings\/(\d+)$/)?.[1];
  const page = () => {
    if (route === "/admin/open311") return <Open311Keys />;
    if (route.startsWith("/admin")) return <Admin tab={route.split("/")[2]} settings={isAdmin} accounts={managesAccounts} />;
    if (route === "/report") return <Report me={me} />;
    if (route === "/map") return <OneMap me={me} archives={readsArchives} />;
    if (route.startsWith("/search")) return <Search />;
    if (route === "/dashboard") return <Dashboard me={me} />;
    if (route === "/archives") return <Archives me={me} />;
    if (route === "/grid") return <GridWork me={me} />;
    if (route === "/tasks") return <Tasks me={me} />;
    if (route === "/warnings/settings") return <WarningSettings />;
    if (warningId) return <WarningDetail id={warningId} key={warningId} />;
    if (route.startsWith("/warnings")) return <Warnings me={me} query={new URLSearchParams(route.split("?")[1] || "")} key={route} />;
    if (route === "/community") return <CommunityWork me={me} />;
    if (buildingId) return <Building id={buildingId} key={buildingId} />;
    if (route === "/my-data") return <MyData />;
    if (route === "/points") return <MyPoints />;
    if (route === "/points/admin") return <PointsAdmin me={me} />;
    if (route === "/volunteer") return <Volunteer />;
    if (route === "/volunteer/certificate") return <VolunteerCertificate />;
    if (route === "/volunteer/admin") return <VolunteerAdmin me={me} />;
    if (route === "/wishes") return <Wishes me={me} />;
    if (route === "/reports") return <Reports me={me} />;
    if (route === "/ratings") return <Ratings me={me} />;
    if (route === "/account") return <Account me={me} />;
    if (route === "/audit") return <AuditLog />;
    if (route === "/cases") return <Cases title={isStaff ? t("nav.work") : t("nav.mine")} staff={isStaff} />;
    if (caseId) return <CaseDetail id={caseId} key={caseId} staff={isStaff} />;
    return <Home me={me} />;
  };
  return (
    <>
      <header>
        <h1>
          {t("app.title")} <span class="muted">{t("app.subtitle")}</span>
        </h1>
        <nav aria-label={t("app.title")}>
          {me && <a href="#/">{t("nav.home")}</a>}
          {isResident && <a href="#/report">{t("nav.report")}</a>}
          {me && !onlyAudits && <a href="#/cases">{isStaff ? t("nav.work") : t("nav.mine")}</a>}
          {isStaff && <a href="#/search">{t("nav.search")}</a>}
          {isStaff && <a href="#/map">{t("nav.map")}</a>}
          {isStaff && <a href="#/dashboard">{t("nav.dash")}</a>}
          {readsWarnings && <a href="#/warnings">{t("nav.warnings")}</a>}
          {doesGridWork && <a href="#/grid">{t("nav.grid")}</a>}
          {supervisesGrids && <a href="#/community">{t("nav.community")}</a>}
          {seesTasks && <a href="#/tasks">{t("nav.tasks")}</a>}
          {readsArchives && <a href="#/archives">{t("nav.archives")}</a>}
          {me && <a href="#/my-data">{t("nav.mydata")}</a>}
          {isResident && <a href="#/points">{t("nav.points")}</a>}
          {keepsPoints && <a href="#/points/admin">{t("nav.points_admin")}</a>}
          {isResident && <a href="#/volunteer">{t("nav.volunteer")}</a>}
          {organisesVolunteers && <a href="#/volunteer/admin">{t("nav.volunteer_admin")}</a>}
          {(isResident || organisesVolunteers) && <a href="#/wishes">{t("nav.wishes")}</a>}
          {(isResident || organisesVolunteers) && <a href="#/reports">{t("nav.reports")}</a>}
          {(isResident || runsCampaigns) && <a href="#/ratings">{t("nav.ratings")}</a>}
          <a href="#/honours">{t("nav.honours")}</a>
          {isAdmin && <a href="#/admin/territories">{t("nav.admin")}</a>}
          {isAdmin && <a href="#/admin/open311">{t("nav.open311")}</a>}
          {managesAccounts && <a href="#/admin/people">{t("nav.accounts")}</a>}
          {isAuditor && <a href="#/audit">{t("nav.audit")}</a>}
          {me && <a href="#/account">{t("nav.account")}</a>}
          <a href="/api/docs/">{t("nav.api")}</a>
        </nav>
        <button class="quiet" type="button" onClick={() => setLang(lang === "zh" ? "en" : "zh")}>
          {t("nav.lang")}
        </button>
        {me && (
          <button class="quiet" type="button" onClick={() => logout().then(() => (localStorage.removeItem("wuzhi.me"), setMe(null)))}>
            {t("nav.logout")}
          </button>
        )}
      </header>
      <main>
        {publicId ? (
          <PublicCase id={publicId} />
        ) : route === "/honours" ? (
          <Honours />
        ) : me === undefined ? null : me === null ? (
          <Login onDone={load} />
        ) : (
          page()
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app"));

// The pages keep working without a network (grid work's outbox is in IndexedDB; the service
// worker keeps the pages themselves).
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});

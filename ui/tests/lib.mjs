// What the browser scripts share: the browser, checks, axe-core, signing in, the end.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";

export const [base, shots = "screenshots"] = process.argv.slice(2);
if (!base) throw new Error("usage: node tests/SCRIPT.mjs BASE_URL [SCREENSHOT_DIR]");
mkdirSync(shots, { recursive: true });
// axe-core is evaluated through the DevTools protocol rather than added as a script tag: the
// pages' Content-Security-Policy forbids inline scripts, and must stay on while they are checked.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const PASSWORD = "wuzhi-demo-2026";

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const failures = [];
const cspViolations = [];

/// A browser context whose pages report every Content-Security-Policy violation: the pages
/// must work under the policy the server sends.
export async function newContext(options) {
  const ctx = await browser.newContext(options);
  ctx.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return ctx;
}
export function check(ok, what) {
  console.log(`${ok ? "ok" : "FAILED"}: ${what}`);
  if (!ok) failures.push(what);
}

export async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe on ${name}: ${bad.map((v) => `${v.id} (${v.nodes.length})`).join(", ") || "no serious or critical violation"}`);
}

export async function signIn(page, username) {
  await page.goto(base + "/");
  await page.getByLabel(/用户名|Username/).fill(username);
  await page.getByLabel(/密码|Password/).fill(PASSWORD);
  await page.getByRole("button", { name: /^(登录|Sign in)$/ }).click();
  await page.getByText(/您好|Hello/).waitFor();
}

/// A report made straight through the API at the middle of a grid, as from another phone
/// (`fields`: kind, subject, description). Returns the case id.
/// Signs in over the API and sends one request: (status, body text).
export async function apiAs(username, method, path, body, contentType = "application/json") {
  const login = await fetch(base + "/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await login.json();
  const r = await fetch(base + path, { method, headers: { "content-type": contentType, cookie, "x-csrf-token": csrf_token }, body });
  return [r.status, await r.text()];
}

export async function reportAt(username, grid, fields) {
  const login = await fetch(base + "/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const { csrf_token } = await login.json();
  const outline = await (await fetch(`${base}/api/map/outline/${grid}`, { headers: { cookie } })).json();
  const ring = outline.geometry.coordinates[0][0].slice(0, -1);
  const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
  const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
  const r = await fetch(base + "/api/cases", {
    method: "POST",
    headers: { "content-type": "application/json", cookie, "x-csrf-token": csrf_token },
    body: JSON.stringify({ channel: "app", ...fields, lon, lat }),
  });
  if (r.status !== 201) throw new Error(`report as ${username}: ${r.status} ${await r.text()}`);
  return (await r.json()).id;
}

/// Runs the checks in `body`; a thrown error is a failure with a screenshot of every page.
export async function run(body, failureShot) {
  try {
    await body();
  } catch (e) {
    check(false, `browser run: ${e.message}`);
    for (const ctx of browser.contexts()) for (const pg of ctx.pages()) await pg.screenshot({ path: failureShot, fullPage: true });
  } finally {
    check(cspViolations.length === 0, `the pages run under their Content-Security-Policy (${cspViolations.slice(0, 3).join(" | ") || "no violation"})`);
    await browser.close();
  }
  if (failures.length) {
    console.log(`${failures.length} browser check(s) failed`);
    process.exit(1);
  }
  console.log("all browser checks passed");
}


// Browser tests of risk early warning: a resident's report that names a gas leak is raised
// live as a red warning; the community's staff see it in their list and digest on a 390 px
// phone, open it, read why it was raised, acknowledge it and assign it to a unit with a
// deadline; at 1440 px the district leader finds it on the one map's warnings layer, and the
// administrator adds a phrase to the lexicon. Each page is checked with axe.
//   node tests/warnings.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { shots, check, axe, signIn, run, newContext, reportAt } from "./lib.mjs";

const GRID = "120101001001002";

await run(async () => {
  const caseId = await reportAt("resident2", GRID, { kind: "report", subject: "楼道燃气泄漏", description: "二单元楼道里燃气泄漏，味道很大" });

  // ---- The community's staff on the phone ----
  const phone = await newContext({ viewport: { width: 390, height: 844 } });
  const page = await phone.newPage();
  await signIn(page, "community");
  await page.getByRole("link", { name: "风险预警" }).click();
  await page.getByRole("heading", { name: "风险预警" }).waitFor();
  // The detectors run on the server every second: the list shows the warning once raised.
  const item = page.getByTestId("warnings").getByRole("link", { name: /敏感事项/ });
  for (let i = 0; i < 60 && (await item.count()) === 0; i++) {
    await page.waitForTimeout(500);
    await page.reload();
    await page.getByRole("heading", { name: "风险预警" }).waitFor();
  }
  check((await item.count()) === 1, "the sensitive report is raised live as a warning in the community's list");
  check((await page.getByTestId("warnings").getByTestId("level").first().textContent()) === "红色", "at the red level");
  await page.getByTestId("digest").getByText(/新增预警 \d+ 条/).waitFor();
  await axe(page, "warnings list at 390px");
  await page.screenshot({ path: join(shots, "warnings-390.png"), fullPage: true });

  await item.click();
  await page.getByTestId("warn-reason").waitFor();
  check((await page.getByTestId("warn-reason").textContent()).includes("燃气泄漏"), "the page says why it was raised");
  check((await page.getByTestId("evidence").getByRole("link", { name: new RegExp(`#${caseId}`) }).count()) === 1, "its evidence links the case");
  await page.getByLabel("备注").first().fill("已电话通知燃气公司");
  await page.getByRole("button", { name: "签收" }).click();
  await page.getByTestId("warn-timeline").getByText("签收").waitFor();
  await page.getByLabel("查找单位").fill("城市管理");
  await page.getByLabel("承办单位").selectOption({ label: "和平区城市管理委员会" });
  const due = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel("办理期限").fill(due);
  await page.getByRole("button", { name: "交办" }).click();
  await page.getByTestId("warn-timeline").getByText("交办").waitFor();
  check((await page.getByText("和平区城市管理委员会").count()) > 0, "assigned to the unit, named");
  await axe(page, "warning page at 390px");
  await page.screenshot({ path: join(shots, "warning-390.png"), fullPage: true });
  await phone.close();

  // ---- The district leader at the desk: the map's warnings layer ----
  const desk = await newContext({ viewport: { width: 1440, height: 900 } });
  const lp = await desk.newPage();
  await signIn(lp, "district_leader");
  await lp.getByRole("link", { name: "一张图" }).click();
  await lp.getByTestId("onemap").waitFor();
  await lp.getByLabel("着色依据").selectOption("warnings");
  const cell = lp.getByTestId("warned-120101001");
  await cell.getByText("红色").waitFor();
  check(true, "the warnings layer colours the street holding the red warning");
  await lp.screenshot({ path: join(shots, "warnings-map-1440.png"), fullPage: true });
  await cell.click();
  await lp.getByTestId("warnings").getByRole("link", { name: /敏感事项/ }).waitFor();
  await lp.getByTestId("warnings").getByRole("link", { name: /敏感事项/ }).click();
  await lp.getByTestId("warn-timeline").getByText("交办").waitFor();
  await axe(lp, "warning page at 1440px");
  await lp.screenshot({ path: join(shots, "warning-1440.png"), fullPage: true });
  await desk.close();

  // ---- The administrator's lexicon ----
  const admin = await newContext({ viewport: { width: 1440, height: 900 } });
  const ap = await admin.newPage();
  await signIn(ap, "admin");
  await ap.goto(ap.url().split("#")[0] + "#/warnings/settings");
  await ap.getByTestId("lexicon").getByText("燃气泄漏").waitFor();
  await ap.getByLabel("词语").fill("高空抛物");
  await ap.getByRole("button", { name: "添加敏感词" }).click();
  await ap.getByTestId("lexicon").getByText("高空抛物").waitFor();
  check(true, "the administrator adds a phrase to the lexicon");
  await axe(ap, "warning settings at 1440px");
  await ap.screenshot({ path: join(shots, "warnings-settings-1440.png"), fullPage: true });
  await admin.close();
}, join(shots, "warnings-failure.png"));

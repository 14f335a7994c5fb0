// Browser tests of text intelligence, run by `ui::pages_work_in_a_browser` after it imported
// the 300 real messages of data/complaints/messages_sample.csv as closed cases:
//   node tests/text.mjs BASE_URL SCREENSHOT_DIR
// The administrator trains the classifier and sets the threshold; a resident sees category
// suggestions and the "may already be reported" warning and supports the earlier case; a
// dispatcher searches, sees the suggestion and the duplicate on the new case and merges it,
// and finds the matter among the hot issues.
import { join } from "node:path";
import { base, shots, browser, check, axe, signIn, run, reportAt, newContext } from "./lib.mjs";

await run(async () => {
  const desk = await newContext({ viewport: { width: 1280, height: 900 } });
  const a = await desk.newPage();
  a.on("dialog", (d) => d.accept());

  // The administrator trains a version on the confirmed cases and turns automatic dispatch on.
  await signIn(a, "admin");
  await a.goto(base + "/#/admin/text");
  await a.getByRole("heading", { name: "智能分类模型" }).waitFor();
  await axe(a, "text intelligence administration");
  await a.getByRole("button", { name: "用现有案件训练新版本" }).click();
  await a.getByTestId("text-msg").filter({ hasText: "已训练版本 1" }).waitFor({ timeout: 60000 });
  // The table comes with the reloaded list of versions: wait for it, then count its rows.
  await a.getByTestId("per-class").locator("tbody tr").first().waitFor({ timeout: 30000 });
  const classes = await a.getByTestId("per-class").locator("tbody tr").count();
  check(classes === 7, `the new version shows its cross-validated figures for each of the 7 classes (${classes})`);
  await a.getByLabel("自动派遣阈值（0.5–1，留空为关闭）").fill("0.5");
  await a.getByRole("button", { name: "保存" }).click();
  await a.getByTestId("text-msg").filter({ hasText: "已保存" }).waitFor();
  check(true, "the automatic dispatch threshold is saved");
  await a.getByRole("button", { name: "重建检索索引" }).click();
  await a.getByTestId("text-msg").filter({ hasText: "已通知各服务器重建索引" }).waitFor();
  check(true, "a rebuild of the search index is asked for");
  await axe(a, "text intelligence administration with a model");
  await a.screenshot({ path: join(shots, "text-admin.png"), fullPage: true });
  await a.close();

  // Someone nearby reported a mixing plant's noise; a resident starts to report the same.
  const first = await reportAt("resident2", "120101001001001", {
    kind: "complaint",
    subject: "丽发新城小区旁搅拌站夜间施工噪音扰民",
    description: "小区旁边的搅拌站每天晚上施工，噪音大，粉尘多，影响居民休息。",
  });
  const phone = await newContext({ viewport: { width: 390, height: 844 } });
  const p = await phone.newPage();
  await signIn(p, "resident");
  await p.getByRole("link", { name: "我要报事" }).click();
  await p.locator(".map path.leaflet-interactive").waitFor();
  await p.getByLabel("标题").fill("投诉丽发新城附近的搅拌站");
  await p.getByLabel("详细描述").fill("丽发新城小区附近搅拌站夜间作业，噪声扰民，灰尘也很大。");
  await p.getByTestId("suggestions").waitFor();
  const suggested = await p.getByTestId("suggestions").textContent();
  check(/%/.test(suggested), `categories are suggested while writing (${suggested.trim()})`);
  await p.getByTestId("map").click();
  const warning = p.getByTestId("duplicates");
  await warning.getByRole("link", { name: new RegExp(`#${first} `) }).waitFor();
  check(true, "the resident is told the matter may already be reported nearby");
  await axe(p, "report page with suggestions and a duplicate warning");
  await p.screenshot({ path: join(shots, "report-duplicate.png"), fullPage: true });
  await warning.getByRole("button", { name: "我也遇到（附议）" }).click();
  await warning.getByText("已附议，共 1 人").waitFor();
  check(true, "the resident supports the earlier case instead");
  const wide = await p.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `the report page with a warning fits 390 px (${wide} px)`);
  // Reported anyway, under a category inside the one the model is confident of: the
  // system files and dispatches it, and the timeline says so.
  await p.getByLabel("事项分类（可不选）").selectOption("H010202");
  await p.getByRole("button", { name: "提交" }).click();
  await p.waitForURL(/#\/cases\/\d+$/);
  const again = p.url().match(/cases\/(\d+)$/)[1];
  await p.getByTestId("status").filter({ hasText: "已派遣" }).waitFor({ timeout: 15000 });
  const auto = await p.locator(".timeline").getByText(/智能派单：模型版本 1，置信度 \d+%/).count();
  check(auto === 2, `the case was filed and dispatched automatically, as its timeline says (${auto} steps)`);
  await phone.close();

  // The dispatcher finds it by words, sees the suggestion and the duplicate, and merges.
  const office = await newContext({ viewport: { width: 1280, height: 900 } });
  const d = await office.newPage();
  await signIn(d, "dispatcher");
  await d.getByRole("link", { name: "案件检索" }).click();
  await d.getByLabel("关键词").fill("丽发新城 搅拌站");
  // The index takes a change in within a second or two (the outbox is read every second).
  let found = 0;
  for (let i = 0; i < 20 && found < 2; i++) {
    await d.getByRole("button", { name: "检索" }).click();
    await d.getByTestId("search-total").waitFor();
    await d.waitForTimeout(500);
    found = await d.locator(".results li").count();
  }
  const marks = await d.locator(".results mark").count();
  check(found >= 2 && marks > 0, `search finds both reports with the words highlighted (${found} hits, ${marks} highlights)`);
  await axe(d, "search page");
  await d.screenshot({ path: join(shots, "search.png"), fullPage: true });
  await d.goto(`${base}/#/cases/${again}`);
  await d.getByTestId("status").waitFor();
  await d.getByTestId("similar").getByRole("link", { name: new RegExp(`#${first} `) }).waitFor();
  check(true, "the dispatcher sees the earlier case as a likely duplicate");
  await axe(d, "case page with duplicates");
  await d.getByTestId("similar").getByRole("button", { name: `合并到 #${first}` }).click();
  await d.getByTestId("status").filter({ hasText: "已合并" }).waitFor();
  check(true, "one action merges the duplicate");

  // The matter among the hot issues, with the support counted.
  await d.getByRole("link", { name: "考核评价" }).click();
  const hot = d.getByTestId("hot-topics");
  await hot.getByRole("button", { name: "近 7 天" }).click();
  await hot.getByText(/丽发新城/).first().waitFor();
  check(true, "the dashboard lists the matter among hot issues");
  await axe(d, "dashboard with hot issues");
  await d.screenshot({ path: join(shots, "hot-issues.png"), fullPage: true });
  await office.close();
  await desk.close();
}, join(shots, "text-failure.png"));

// Officials report to residents (向群众汇报) in headless Chromium (issue 19): the street's
// commander publishes a report with two promises; a resident of the street, on a phone,
// rates it once; the commander records one promise done, and the resident rates that too.
// Run by `ui::pages_work_in_a_browser`:
//   node tests/reports.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { shots, check, axe, run, newContext, signIn } from "./lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "commander");
  await desk.getByRole("link", { name: "向群众汇报" }).click();
  const form = desk.getByRole("form", { name: "发布汇报" });
  await form.getByLabel("汇报标题").fill("劝业场街道2026年向居民汇报");
  await form.getByLabel("汇报方式").selectOption("meeting");
  // Held yesterday in the city's time.
  const yesterday = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);
  const later = new Date(Date.now() + 8 * 3600e3 + 30 * 86400e3).toISOString().slice(0, 10);
  await form.getByLabel("汇报日期").fill(yesterday);
  await form.getByLabel("时间").fill("19:00");
  await form.getByLabel("地点").fill("劝业场街道党群服务中心");
  await form.getByLabel("工作情况").fill("今年完成老旧小区改造3个，新增停车位120个");
  await form.getByLabel("承诺事项 1").fill("12月内修复花园路小区路灯");
  await form.getByLabel("完成日期 1").fill(later);
  await form.getByLabel("承诺事项 2").fill("年底前完成3号楼加装电梯");
  await form.getByLabel("完成日期 2").fill(later);
  await form.getByRole("button", { name: "发布汇报" }).click();
  await desk.getByText("汇报已发布，辖区居民可以评价。").waitFor();
  await axe(desk, "reports to residents, the commander's desk");

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "向群众汇报" }).click();
  const report = phone.getByTestId("reports").locator("> li", { hasText: "劝业场街道2026年向居民汇报" });
  const rate = report.getByRole("form", { name: "您对这次汇报的评价" });
  await rate.getByLabel("满意", { exact: true }).check();
  await rate.getByRole("button", { name: "提交评价" }).click();
  await phone.getByText("评价已提交（匿名）。").waitFor();
  check(await report.getByText("已有 1 人评价（满 3 人后显示结果）").isVisible(), "one rating shows only its count");
  check((await report.getByRole("form").count()) === 0, "rated once, and promises not yet done are not rated");

  const progress = desk.getByRole("form", { name: "「12月内修复花园路小区路灯」的进度" });
  await progress.getByLabel("进度（%）").fill("100");
  await progress.getByLabel("进展说明").fill("12月3日全部修复");
  await progress.getByRole("button", { name: "保存" }).click();
  await desk.getByText("进度已更新。").waitFor();

  await phone.reload();
  const promise = phone.getByRole("form", { name: "您对「12月内修复花园路小区路灯」的评价" });
  await promise.getByLabel("非常满意").check();
  await promise.getByRole("button", { name: "提交评价" }).click();
  await phone.getByText("评价已提交（匿名）。").waitFor();
  await axe(phone, "reports to residents on a phone");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "reports-390.png"), fullPage: true });
  await desk.reload();
  await desk.screenshot({ path: join(shots, "reports-desk-1440.png"), fullPage: true });
  // The residents' judgement stands on the dashboard beside the case indicators: one rating
  // of each, so the count without a figure.
  await desk.getByRole("link", { name: "考核评价" }).click();
  const judged = desk.getByTestId("judgement-reports");
  await judged.waitFor();
  check((await judged.textContent()).includes("1 人评价"), "the report's one rating is counted on the dashboard");
  check((await desk.getByTestId("judgement-commitments").textContent()).includes("1 人评价"), "and the promise's");
  await desk.screenshot({ path: join(shots, "dashboard-judgement-1440.png"), fullPage: true });
}, join(shots, "reports-failure.png"));

// Volunteer service in headless Chromium (issue 19), part one, before the activity: the
// community's worker publishes an activity for tomorrow that approves its volunteers and
// earns points; the resident, on a phone, registers with skills and applies; the worker
// accepts. Run by `ui::pages_work_in_a_browser`, which then moves the server's clock into the
// activity and runs volunteer_after.mjs:
//   node tests/volunteer.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { shots, check, axe, run, newContext, signIn } from "./lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "community");
  await desk.getByRole("link", { name: "志愿活动管理" }).click();
  await desk.getByRole("heading", { name: "志愿活动管理" }).waitFor();
  const form = desk.getByRole("form", { name: "发布活动" });
  await form.getByLabel("组织方").selectOption({ label: "花园路社区新时代文明实践站" });
  await form.getByLabel("活动名称").fill("关爱独居老人上门服务");
  await form.getByLabel("活动内容").fill("为辖区独居老人打扫卫生、陪伴聊天");
  await form.getByLabel("地点").fill("花园路社区党群服务中心");
  // Tomorrow in the city's time, 09:00–11:00.
  const tomorrow = new Date(Date.now() + 8 * 3600e3 + 86400e3).toISOString().slice(0, 10);
  await form.getByLabel("日期").fill(tomorrow);
  await form.getByLabel("开始时间").fill("11:00");
  await form.getByLabel("结束时间").fill("09:00");
  await form.getByLabel("招募人数").fill("5");
  await form.getByLabel("特长技能").fill("陪伴、保洁");
  await form.getByLabel("报名需审核").check();
  await form.getByLabel("积分规则（每小时）").selectOption({ index: 1 });
  await form.getByRole("button", { name: "发布活动" }).click();
  await desk.getByRole("alert").waitFor();
  const refusal = await desk.getByRole("alert").textContent();
  check(refusal.startsWith("结束时间：结束时间须晚于开始时间"), `an end before the start is refused in Chinese (${refusal})`);
  await form.getByLabel("开始时间").fill("09:00");
  await form.getByLabel("结束时间").fill("11:00");
  await form.getByRole("button", { name: "发布活动" }).click();
  await desk.getByText("已发布：关爱独居老人上门服务。").waitFor();
  await desk.getByTestId("volunteer-desk").getByText("剩余名额 5/5").waitFor();
  await axe(desk, "volunteer activities administration");

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "志愿服务" }).click();
  await phone.getByRole("heading", { name: "我的志愿服务" }).waitFor();
  const register = phone.getByRole("form", { name: "注册志愿者" });
  await register.getByLabel("特长技能").fill("急救，心理疏导");
  await register.getByRole("button", { name: "注册志愿者" }).click();
  await phone.getByText("已保存志愿者信息。").waitFor();
  check(await phone.getByText("特长：急救、心理疏导").isVisible(), "the skills read back as the page lists them");
  const activity = phone.getByTestId("volunteer-activities").locator("li", { hasText: "关爱独居老人上门服务" });
  await activity.getByRole("button", { name: "申请报名" }).click();
  await phone.getByText("报名已提交，等待组织方审核。").waitFor();
  check(await activity.getByText("已报名，待审核").isVisible(), "the application waits for the organiser");
  await axe(phone, "volunteering on a phone");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "volunteer-390.png"), fullPage: true });

  await desk.reload();
  await desk.getByRole("button", { name: "关爱独居老人上门服务" }).click();
  const signups = desk.getByRole("list", { name: "报名名单" });
  await signups.getByText("花园路居民").waitFor();
  await signups.getByRole("button", { name: "通过", exact: true }).click();
  await desk.getByText("已通过 花园路居民 的报名。").waitFor();
  check(await signups.getByText("已报名成功").isVisible(), "the organiser's list shows the accepted place");
  check(!(await desk.getByRole("form", { name: "现场确认服务时长" }).isVisible()), "no attendance before the activity starts");
  await desk.screenshot({ path: join(shots, "volunteer-admin-1440.png"), fullPage: true });
}, join(shots, "volunteer-failure.png"));

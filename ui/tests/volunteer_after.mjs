// Volunteer service in headless Chromium (issue 19), part two, during the activity that
// volunteer.mjs set up: the worker confirms on site that the resident served 90 minutes and
// completes the activity; the resident, on a phone, sees the verified hours and the pending
// points, and prints the certificate, whose number checks out without signing in.
//   node tests/volunteer_after.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { base, shots, check, axe, run, newContext, signIn } from "./lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "community");
  await desk.getByRole("link", { name: "志愿活动管理" }).click();
  await desk.getByRole("button", { name: "关爱独居老人上门服务" }).click();
  const att = desk.getByRole("form", { name: "现场确认服务时长" });
  await att.waitFor();
  await att.getByLabel("花园路居民 的服务分钟数").fill("150");
  await att.getByRole("button", { name: "确认时长" }).click();
  const invalid = await att.getByLabel("花园路居民 的服务分钟数").evaluate((e) => !e.checkValidity());
  check(invalid, "minutes past the activity's length are stopped in the form");
  await att.getByLabel("花园路居民 的服务分钟数").fill("90");
  await att.getByRole("button", { name: "确认时长" }).click();
  await desk.getByText(/已确认 1 人的服务时长，共记积分 \d+ 分。/).waitFor();
  await desk.getByRole("list", { name: "报名名单" }).getByText("已核实 1.5 小时").waitFor();
  await desk.getByRole("button", { name: "结束活动" }).click();
  await desk.getByText("活动已结束，时长记录已定。").waitFor();
  await axe(desk, "attendance confirmed");
  await desk.screenshot({ path: join(shots, "volunteer-attendance-1440.png"), fullPage: true });

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "志愿服务" }).click();
  await phone.getByTestId("volunteer-hours").waitFor();
  const h = await phone.getByTestId("volunteer-hours").locator("strong").textContent();
  check(h === "1.5", `the verified hours are the resident's (${h})`);
  check(await phone.getByTestId("volunteer-history").getByText("已核实 1.5 小时").isVisible(), "the record lists the service");
  await phone.getByRole("link", { name: "查看并打印志愿服务证明" }).click();
  await phone.getByTestId("certificate-text").waitFor();
  const text = await phone.getByTestId("certificate-text").textContent();
  check(text.includes("花园路居民") && text.includes("累计志愿服务时长 1.5 小时"), `the certificate states the hours (${text})`);
  const number = await phone.getByTestId("certificate-no").textContent();
  const checked = await (await fetch(`${base}/api/volunteer-certificates/${number}`)).json();
  check(checked.hours === "1.5" && checked.name === "花****", `the number checks out without signing in (${JSON.stringify(checked)})`);
  await axe(phone, "volunteer certificate");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "volunteer-certificate-390.png"), fullPage: true });
  // A party member registers with the community and takes two posts (双报到).
  await phone.getByRole("link", { name: "志愿服务" }).click();
  const party = phone.getByRole("form", { name: "到社区报到" });
  await party.getByLabel("关爱帮扶").check();
  await party.getByLabel("平安巡逻").check();
  await party.getByRole("button", { name: "到社区报到" }).click();
  await phone.getByText("已报到，社区党组织可以看到您认领的岗位和服务记录。").waitFor();
  const said = await phone.getByTestId("party-report").textContent();
  check(said.includes("服务岗位：关爱帮扶、平安巡逻"), `the registration reads back (${said})`);
  await axe(phone, "party member registration");
  await phone.screenshot({ path: join(shots, "party-390.png"), fullPage: true });
  await desk.reload();
  const row = desk.getByTestId("party-members").locator("tr", { hasText: "花园路居民" });
  await row.waitFor();
  check((await row.textContent()).includes("中共天津市和平区委员会"), "the community sees the member and their organisation");

  await phone.getByRole("link", { name: "我的积分" }).click();
  await phone.getByTestId("points-statement").getByText(/志愿服务：关爱独居老人上门服务（1.5 小时）/).waitFor();
}, join(shots, "volunteer-failure.png"));

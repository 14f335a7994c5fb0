// The points ledger in headless Chromium (issue 19): the community's worker keeps a rule
// and a shop item and awards points on the desk; the resident, on a phone, sees them, spends
// them in the shop and objects to a deduction. Run by `ui::pages_work_in_a_browser`:
//   node tests/points.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { base, shots, check, axe, run, newContext, signIn } from "./lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "community");
  await desk.getByRole("link", { name: "积分管理" }).click();
  await desk.getByRole("heading", { name: "积分管理" }).waitFor();
  const rule = desk.getByRole("form", { name: "新增规则" });
  await rule.getByLabel("规则代码").fill("volunteer_hour");
  await rule.getByLabel("名称").fill("志愿服务每小时");
  await rule.getByLabel("分值").fill("6");
  await rule.getByRole("button", { name: "添加规则" }).click();
  await desk.getByText("规则已添加。").waitFor();
  const item = desk.getByRole("form", { name: "上架商品" });
  await item.getByLabel("名称").fill("洗衣液");
  await item.getByLabel("所需积分").fill("4");
  await item.getByLabel("库存").fill("5");
  await item.getByRole("button", { name: "上架" }).click();
  await desk.getByText("商品已上架。").waitFor();
  const award = desk.getByRole("form", { name: "记分" });
  await award.getByLabel("居民").selectOption({ label: "花园路居民" });
  await award.getByLabel("规则").selectOption({ index: 0 });
  await award.getByLabel("事由").fill("12月4日社区敬老服务1小时");
  await award.getByRole("button", { name: "记分" }).click();
  await desk.getByText("已记分，立即生效。").waitFor();
  // A deduction the committee decided, which the resident will object to.
  const deduct = desk.getByRole("form", { name: "扣分" });
  await deduct.getByLabel("居民").selectOption({ label: "花园路居民" });
  await deduct.getByLabel("分值").fill("1");
  await deduct.getByLabel("决定依据").fill("居民公约第3条");
  await deduct.getByLabel("事由").fill("楼道堆物经劝阻未清理");
  await deduct.getByRole("button", { name: "扣分" }).click();
  await desk.getByText(/扣分已登记/).waitFor();
  // Too many points is refused with the field named in Chinese.
  await deduct.getByLabel("分值").fill("50");
  await deduct.getByLabel("决定依据").fill("居民公约第4条");
  await deduct.getByLabel("事由").fill("r");
  await deduct.getByRole("button", { name: "扣分" }).click();
  await desk.getByRole("alert").waitFor();
  const refusal = await desk.getByRole("alert").textContent();
  check(refusal === "积分：账户积分不足。", `a refusal is said in Chinese, with its field (${refusal})`);
  await axe(desk, "points administration");
  await desk.screenshot({ path: join(shots, "points-admin-1440.png"), fullPage: true });

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "我的积分" }).click();
  await phone.getByTestId("points-available").waitFor();
  const first = await phone.getByTestId("points-available").locator("strong").textContent();
  check(first === "5", `6 earned, 1 pending out: 5 to spend (${first})`);
  await phone.getByRole("button", { name: "兑换" }).click();
  await phone.getByText("已兑换：洗衣液。请凭此记录到社区领取。").waitFor();
  const left = await phone.getByTestId("points-available").locator("strong").textContent();
  check(left === "1", `the redemption took 4 (${left} left)`);
  check(await phone.getByRole("button", { name: "兑换" }).isDisabled(), "an item the points do not pay for cannot be chosen");
  await phone.getByRole("button", { name: "提出异议" }).click();
  await phone.getByLabel("异议理由").fill("楼道里的东西不是我家的");
  await phone.getByRole("button", { name: "提交异议" }).click();
  await phone.getByText(/异议已提交/).waitFor();
  check(await phone.getByText(/已提出异议，等待社区决定/).isVisible(), "the statement shows the objection");
  const rows = await phone.getByTestId("points-statement").locator("li").count();
  check(rows === 3, `the statement lists the award, the deduction and the redemption (${rows})`);
  await axe(phone, "my points");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "points-390.png"), fullPage: true });
}, join(shots, "points-failure.png"));

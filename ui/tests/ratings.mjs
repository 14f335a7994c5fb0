// Civilised ratings (文明评选) in headless Chromium (issue 19), first stage: the community's
// worker opens a 文明个人 campaign; a resident, on a phone, nominates herself; the worker
// accepts the nomination. `ratings_vote.mjs`, `ratings_publicity.mjs` and
// `ratings_award.mjs` follow, the server's clock moved past each stage's end between them.
// Run by `ui::pages_work_in_a_browser`:
//   node tests/ratings.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { shots, check, axe, run, newContext, signIn } from "./lib.mjs";
import { TITLE } from "./ratings_lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "community");
  await desk.getByRole("link", { name: "文明评选" }).click();
  const form = desk.getByRole("form", { name: "发起评选" });
  await form.getByLabel("评选名称").fill(TITLE);
  await form.getByLabel("评选对象").selectOption("person");
  await form.getByLabel("荣誉称号").fill("文明个人");
  await form.getByLabel("名额").fill("1");
  await form.getByLabel("评选标准").fill("爱国守法、诚实守信、热心公益、邻里和睦");
  // Nominations close in a week of the city's days (the server's clock runs ahead of the
  // browser's after the volunteer pages).
  const close = new Date(Date.now() + 8 * 3600e3 + 7 * 86400e3).toISOString().slice(0, 10);
  await form.getByLabel("推荐截止日期").fill(close);
  await form.getByLabel("投票天数").fill("3");
  await form.getByLabel("公示天数").fill("5");
  await form.getByRole("button", { name: "发起评选" }).click();
  await desk.getByText("评选已发起，居民可以推荐报名。").waitFor();
  const deskCampaign = desk.getByTestId("campaigns").locator("> li", { hasText: TITLE });
  check((await deskCampaign.locator('[aria-current="step"]').textContent()) === "推荐报名", "the campaign starts at its first stage");

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "文明评选" }).click();
  const campaign = phone.getByTestId("campaigns").locator("> li", { hasText: TITLE });
  const nominate = campaign.getByRole("form", { name: "推荐参评" });
  await nominate.getByLabel("推荐方式").selectOption("self");
  await nominate.getByLabel("主要事迹").fill("坚持八年义务为独居老人送餐，带动楼门邻里结对帮扶");
  await nominate.getByRole("button", { name: "提交推荐" }).click();
  await phone.getByText("推荐已提交，等待审核。").waitFor();
  check(await campaign.getByText("待审核", { exact: true }).isVisible(), "one's own nomination shows as awaiting review");
  await axe(phone, "civilised ratings, nominating on a phone");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "ratings-nominate-390.png"), fullPage: true });

  await desk.reload();
  const review = deskCampaign.getByRole("form", { name: "审核「花园路居民」" });
  await review.getByLabel("审核意见").fill("事迹经社区核实");
  await review.getByRole("button", { name: "通过", exact: true }).click();
  await desk.getByText("已通过审核，进入投票。").waitFor();
  check(await deskCampaign.getByText("入围", { exact: true }).isVisible(), "accepted into the vote");
  await axe(desk, "civilised ratings, the committee's desk");
  await desk.screenshot({ path: join(shots, "ratings-desk-1440.png"), fullPage: true });
}, join(shots, "ratings-failure.png"));

// Civilised ratings, third stage (the vote now due): the worker closes the vote and the
// winner is published (公示); another resident objects on her phone; the worker answers.
import { join } from "node:path";
import { shots, check, axe, run } from "./lib.mjs";
import { campaignPage } from "./ratings_lib.mjs";

await run(async () => {
  const { page: desk, campaign: deskCampaign } = await campaignPage("community", 1440);
  await deskCampaign.getByRole("button", { name: "结束投票并公示" }).click();
  await desk.getByText("投票已结束，拟授予名单进入公示。").waitFor();
  check(await deskCampaign.getByText("拟授予，公示中").isVisible(), "the most voted is proposed");

  const { page: phone, campaign } = await campaignPage("resident2", 390);
  const object = campaign.getByRole("form", { name: "对「花园路居民」提出异议" });
  await object.getByLabel("异议理由").fill("送餐一事是否属实，请社区核实");
  await object.getByRole("button", { name: "提出异议" }).click();
  await phone.getByText("异议已提交，评选组织方将核实答复；您的姓名不会公开。").waitFor();
  await axe(phone, "civilised ratings, an objection on a phone");

  await desk.reload();
  const answer = deskCampaign.getByRole("form", { name: "答复对「花园路居民」的异议" });
  await answer.waitFor();
  check(await deskCampaign.getByText("花园路另一居民").isVisible(), "the committee sees who objected");
  await answer.getByLabel("异议不成立").check();
  await answer.getByLabel("答复").fill("经走访受助老人核实，送餐属实");
  await answer.getByRole("button", { name: "提交答复" }).click();
  await desk.getByText("已答复，并告知提出异议的居民。").waitFor();
  await phone.reload();
  await campaign.getByText("异议不成立：").waitFor();
  check(await campaign.getByText("异议不成立：经走访受助老人核实，送餐属实").isVisible(), "the answer is public");
  await phone.screenshot({ path: join(shots, "ratings-publicity-390.png"), fullPage: true });
}, join(shots, "ratings-publicity-failure.png"));

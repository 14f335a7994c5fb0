// Civilised ratings, second stage (after `ratings.mjs`, nominations now closed): the worker
// opens the vote; the resident votes once on her phone.
import { join } from "node:path";
import { shots, check, axe, run } from "./lib.mjs";
import { TITLE, campaignPage } from "./ratings_lib.mjs";

await run(async () => {
  const { page: desk, campaign: deskCampaign } = await campaignPage("community", 1440);
  await deskCampaign.getByRole("button", { name: "截止推荐，开始投票" }).click();
  await desk.getByText("投票已开始。").waitFor();

  const { page: phone, campaign } = await campaignPage("resident", 390);
  const vote = campaign.getByRole("form", { name: `为「${TITLE}」投票` });
  await vote.getByLabel("花园路居民").check();
  await vote.getByRole("button", { name: "投票" }).click();
  await phone.getByText("投票成功（匿名计票）。").waitFor();
  check(await campaign.getByText("已有 1 位居民投票 · 您已投票").isVisible(), "the vote is counted once and said so");
  check((await campaign.getByRole("form", { name: `为「${TITLE}」投票` }).count()) === 0, "no second vote is offered");
  await axe(phone, "civilised ratings, voting on a phone");
  await phone.screenshot({ path: join(shots, "ratings-vote-390.png"), fullPage: true });
}, join(shots, "ratings-vote-failure.png"));

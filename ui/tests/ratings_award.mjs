// Civilised ratings, last stage (the publicity period over): the worker awards the honour;
// the honours board shows it to anyone, signed in or not, on a phone and on a desk.
import { join } from "node:path";
import { base, shots, check, axe, run, newContext } from "./lib.mjs";
import { campaignPage } from "./ratings_lib.mjs";

await run(async () => {
  const { page: desk, campaign: deskCampaign } = await campaignPage("community", 1440);
  await deskCampaign.getByRole("button", { name: "授予荣誉" }).click();
  await desk.getByText("荣誉已授予，已登上光荣榜。").waitFor();
  check((await deskCampaign.locator('[aria-current="step"]').textContent()) === "已授予", "the campaign is at its last stage");
  await desk.getByRole("link", { name: "光荣榜", exact: true }).click();
  await desk.getByTestId("honours").getByText("花园路居民").waitFor();
  await desk.screenshot({ path: join(shots, "honours-1440.png"), fullPage: true });

  // Nobody signed in: the portal's board.
  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(base + "/#/honours");
  const board = phone.getByTestId("honours").locator("> li", { hasText: "花园路居民" });
  await board.waitFor();
  check(await board.getByText("文明个人", { exact: true }).isVisible(), "the honour shows on the public board");
  check(await board.getByText("坚持八年义务为独居老人送餐").isVisible(), "with the deeds");
  await axe(phone, "the honours board on a phone");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "honours-390.png"), fullPage: true });
}, join(shots, "ratings-award-failure.png"));

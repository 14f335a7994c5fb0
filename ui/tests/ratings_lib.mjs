// What the civilised-rating browser scripts share: the demo campaign's title, and a page of
// the given size signed in as `username` on the 文明评选 page, with that campaign's entry.
import { newContext, signIn } from "./lib.mjs";

export const TITLE = "花园路社区2026年度文明个人评选";

export async function campaignPage(username, width) {
  const page = await (await newContext({ viewport: { width, height: width < 600 ? 844 : 900 } })).newPage();
  await signIn(page, username);
  await page.getByRole("link", { name: "文明评选" }).click();
  return { page, campaign: page.getByTestId("campaigns").locator("> li", { hasText: TITLE }) };
}

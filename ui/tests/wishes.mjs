// Small wishes (微心愿) in headless Chromium (issue 19): the community's worker posts a
// resident's wish with their consent; a resident, on a phone, claims it, asks to be thanked
// by name, and records the delivery; the resident whose wish it was confirms it on their
// phone with thanks; nothing public names them. Run by `ui::pages_work_in_a_browser`:
//   node tests/wishes.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { shots, check, axe, run, newContext, signIn } from "./lib.mjs";

await run(async () => {
  const desk = await (await newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await signIn(desk, "community");
  await desk.getByRole("link", { name: "微心愿" }).click();
  const form = desk.getByRole("form", { name: "发布微心愿" });
  await form.getByLabel("心愿", { exact: true }).fill("为独居老人添置一台电暖器");
  await form.getByLabel("说明").fill("老人家中取暖设备损坏，希望添置一台小型电暖器");
  await form.getByLabel("估计金额（元）").fill("200");
  await form.getByLabel("心愿人").selectOption({ label: "花园路另一居民" });
  await form.getByLabel("本人同意情况").fill("12月5日入户走访时本人同意发布");
  await form.getByRole("button", { name: "发布微心愿" }).click();
  await desk.getByText("微心愿已发布。").waitFor();
  check(await desk.getByText("心愿人：花园路另一居民（12月5日入户走访时本人同意发布）").isVisible(), "the staff see whose wish it is and the consent");
  await axe(desk, "small wishes, the community's desk");
  await desk.screenshot({ path: join(shots, "wishes-desk-1440.png"), fullPage: true });

  const phone = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(phone, "resident");
  await phone.getByRole("link", { name: "微心愿" }).click();
  const wish = phone.getByTestId("wishes").locator("li", { hasText: "为独居老人添置一台电暖器" });
  await wish.waitFor();
  check(!(await phone.locator("main").textContent()).includes("花园路另一居民"), "the public page names no one");
  await wish.getByRole("button", { name: "认领心愿" }).click();
  await wish.getByLabel("实现后公开我的名字致谢").check();
  await wish.getByRole("button", { name: "确认认领" }).click();
  await phone.getByText("已认领，请尽快帮助实现，送达后在此登记。").waitFor();
  const mine = phone.getByTestId("wishes").locator("li", { hasText: "为独居老人添置一台电暖器" });
  await mine.getByLabel("送达情况").fill("12月6日已送到老人家中并试用");
  await mine.getByRole("button", { name: "登记送达" }).click();
  await phone.getByText("已登记送达，等待心愿人确认。").waitFor();

  const own = await (await newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await signIn(own, "resident2");
  await own.getByRole("link", { name: "微心愿" }).click();
  const hers = own.getByTestId("wishes").locator("li", { hasText: "为独居老人添置一台电暖器" });
  await hers.getByText("送达情况：12月6日已送到老人家中并试用").waitFor();
  await hers.getByLabel("想对认领人说的话（选填，公开显示）").fill("谢谢好心人，屋里暖和了");
  await hers.getByRole("button", { name: "确认心愿已实现" }).click();
  await own.getByText("已确认，认领人会收到感谢。").waitFor();

  await phone.reload();
  const done = phone.getByTestId("wishes").locator("li", { hasText: "为独居老人添置一台电暖器" });
  await done.getByText("已实现").waitFor();
  const said = await done.textContent();
  check(said.includes("认领人：花园路居民") && said.includes("心愿人的感谢：谢谢好心人，屋里暖和了"), `the giver is thanked by name (${said})`);
  await axe(phone, "small wishes on a phone");
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (${wide} px)`);
  await phone.screenshot({ path: join(shots, "wishes-390.png"), fullPage: true });
}, join(shots, "wishes-failure.png"));

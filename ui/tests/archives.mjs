// Browser tests of the archives pages: a grid worker reads the grid's households (masked),
// reads one person in clear for a stated purpose and is told the read is recorded; the
// resident claims their record in "my data", sees that read (who, what, why) and asks for a
// correction, which the community's staff answer from their archives page.
//   node tests/archives.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { base, shots, check, axe, signIn, run, newContext } from "./lib.mjs";

const RESIDENT_ID = "120101198003150887";

await run(async () => {
  for (const width of [390, 1440]) {
    const context = await newContext({ viewport: { width, height: width === 390 ? 844 : 900 } });
    const page = await context.newPage();
    await signIn(page, "gridworker");
    await page.getByRole("link", { name: "基础档案" }).click();
    await page.getByRole("heading", { name: /基础档案/ }).waitFor();
    const table = page.getByRole("table", { name: "本网格的住户" });
    await table.waitFor();
    const text = await table.textContent();
    check(/[\u4e00-\u9fa5]\*+/.test(text), "names in the households table are masked");
    check(!/\d{17}[\dX]/.test(text), "no identity number in the households table");
    check((await page.getByText(/共 \d+ 户 \d+ 人/).count()) === 1, "the grid's households are counted");
    await axe(page, `archives page at ${width}px`);
    if (width === 390) {
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 390, `no sideways scrolling of the page at 390 px (${wide} px)`);
    }
    await page.screenshot({ path: join(shots, `archives-${width}.png`), fullPage: width === 390 });
    // One person, in clear for a purpose: the page says the read is recorded.
    await page.getByRole("button", { name: /花\*+/ }).first().click();
    await page.getByRole("heading", { name: /花\*+/ }).waitFor();
    await page.getByLabel("理由（至少 4 个字）").fill("入户走访核实情况");
    await page.getByRole("button", { name: "查看原文" }).click();
    await page.getByTestId("read-recorded").waitFor();
    check((await page.getByText(RESIDENT_ID).count()) === 1, "the identity number is shown in clear after the purpose");
    await axe(page, `a person read in clear at ${width}px`);
    await page.screenshot({ path: join(shots, `archives-person-${width}.png`), fullPage: width === 390 });
    if (width === 390) {
      // An update from a visit: kept in the record's history.
      await page.getByText("更新信息（走访所见）").click();
      await page.getByLabel("独居老人").check();
      await page.getByRole("button", { name: "保存" }).click();
      await page.getByText("已保存，变更记入档案历史。").waitFor();
    }
    // A building's page: its houses and households, masked.
    await page.locator('a[href^="#/archives/buildings/"]').first().click();
    await page.getByRole("table", { name: "房屋与住户" }).waitFor();
    check(/[\u4e00-\u9fa5]\*+/.test(await page.getByRole("table").textContent()), "the building's residents are masked");
    await axe(page, `a building's page at ${width}px`);
    await page.screenshot({ path: join(shots, `archives-building-${width}.png`), fullPage: width === 390 });
    // The one map's archive layers.
    await page.goto(base + "/#/map");
    await page.getByTestId("onemap").waitFor();
    await page.getByTestId("marker-count").waitFor();
    const layer = page.waitForResponse((r) => r.url().includes("/api/archives/layers/buildings") && r.status() === 200);
    await page.getByLabel("楼栋（关爱对象/案件）").check();
    const features = (await (await layer).json()).features.length;
    check(features > 0, `the buildings layer has the grid's buildings (${features})`);
    await page.waitForFunction((n) => document.querySelectorAll("path.archive-building").length === n, features);
    await page.screenshot({ path: join(shots, `map-archives-${width}.png`) });
    await context.close();
  }

  // The resident: claims the record, sees the two reads, asks for a correction.
  const context = await newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, "resident");
  await page.getByRole("link", { name: "我的信息" }).click();
  await page.getByLabel("身份证号").fill(RESIDENT_ID);
  await page.getByRole("button", { name: "查看我的档案" }).click();
  await page.getByRole("heading", { name: "查看记录" }).waitFor();
  const reads = await page.getByRole("table").textContent();
  check(reads.includes("花园路第1网格网格员") && reads.includes("入户走访核实情况"), "the resident sees who read their data and why");
  await page.getByLabel("需更正的项目").selectOption("phone");
  await page.getByLabel("说明").fill("手机号已更换为 13900001111");
  await page.getByRole("button", { name: "提交申请" }).click();
  await page.getByText("申请已提交").waitFor();
  await axe(page, "my data page");
  await page.screenshot({ path: join(shots, "my-data-390.png"), fullPage: true });
  await context.close();

  // The community's staff answer it from the archives page.
  const staff = await newContext({ viewport: { width: 1440, height: 900 } });
  const sp = await staff.newPage();
  await signIn(sp, "community");
  await sp.getByRole("link", { name: "基础档案" }).click();
  await sp.getByRole("heading", { name: "待处理的个人信息更正/删除申请" }).waitFor();
  await sp.getByLabel("处理结果").fill("已核实，电话已更正");
  await sp.getByRole("button", { name: "已更正，答复" }).click();
  await sp.getByRole("heading", { name: "待处理的个人信息更正/删除申请" }).waitFor({ state: "detached" });
  // An import: the preview names the bad row and writes nothing; a good file imports.
  const bad = "ref,grid_code,name,id_number,residence\nU1,120101001001001,钱一,120101198003150880,registered\n";
  await sp.getByLabel("档案类别").selectOption("people");
  await sp.getByLabel("文件（CSV 或 Excel）").setInputFiles({ name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await sp.getByRole("button", { name: "预检" }).click();
  await sp.getByTestId("import-problems").waitFor();
  check((await sp.getByTestId("import-problems").textContent()).includes("line 2 · id_number"), "the preview names the bad row and field");
  check(await sp.getByRole("button", { name: "导入", exact: true }).isDisabled(), "nothing can be imported before a clean preview");
  const good = "ref,grid_code,name,sex,residence\nU2,120101001001001,钱二,男,floating\n";
  await sp.getByLabel("文件（CSV 或 Excel）").setInputFiles({ name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(good) });
  await sp.getByRole("button", { name: "预检" }).click();
  await sp.getByText("预检通过：1 行，将新建 1 条、合并 0 条。").waitFor();
  await sp.getByRole("button", { name: "导入", exact: true }).click();
  await sp.getByText("已导入：新建 1 条，合并 0 条。").waitFor();
  await axe(sp, "archives page of the community's staff");
  await sp.screenshot({ path: join(shots, "archives-staff-1440.png") });
  await staff.close();
}, join(shots, "archives-failure.png"));

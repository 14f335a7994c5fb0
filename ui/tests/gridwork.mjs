// Browser tests of grid work on a 390 px phone: the steward starts a patrol, reports a
// problem and writes a quick note with the network off, reloads the page offline (the
// service worker keeps it, the outbox keeps the writes), and everything is sent once when
// the network returns; the grid worker logs a household visit; a key task from the street
// is answered on the phone and rolls up on the commander's page. At 1440 px the same pages
// are looked at and checked with axe.
//   node tests/gridwork.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { base, shots, check, axe, signIn, run, newContext, apiAs } from "./lib.mjs";

const GRID = "120101001001001";

/// A point inside the grid, found through the locate endpoint.
async function pointIn(grid) {
  const [, text] = await apiAs("admin", "GET", `/api/territories/${grid}?geometry=true`);
  const coords = JSON.parse(text).geometry.coordinates.flat(2);
  const xs = coords.map((c) => c[0]);
  const ys = coords.map((c) => c[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  for (let i = 1; i < 12; i++) {
    for (let j = 1; j < 12; j++) {
      const [lon, lat] = [x0 + ((x1 - x0) * i) / 12, y0 + ((y1 - y0) * j) / 12];
      const [status, body] = await apiAs("admin", "GET", `/api/locate?lon=${lon}&lat=${lat}`);
      if (status === 200 && JSON.parse(body).grid?.code === grid) return { longitude: lon, latitude: lat };
    }
  }
  throw new Error(`no point found in ${grid}`);
}

const count = (page) => page.getByTestId("queue-count");

await run(async () => {
  const where = await pointIn(GRID);
  const [, before] = await apiAs("steward", "GET", "/api/gridwork/me/week");
  const start = JSON.parse(before);

  // ---- The steward's patrol, offline and back ----
  const ctx = await newContext({ viewport: { width: 390, height: 844 }, geolocation: where, permissions: ["geolocation"] });
  const page = await ctx.newPage();
  await signIn(page, "steward");
  await page.getByRole("link", { name: "网格工作" }).click();
  await page.getByRole("heading", { name: /^网格工作 · / }).waitFor();
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined);
  await count(page).getByText("全部已发送").waitFor();
  await axe(page, "grid work at 390px");
  await page.screenshot({ path: join(shots, "gridwork-390.png"), fullPage: true });

  await ctx.setOffline(true);
  await count(page).getByText("离线").waitFor();
  await page.getByRole("button", { name: "开始巡查" }).click();
  await page.getByTestId("patrol-running").waitFor();
  await count(page).getByText(/1 条待发送/).waitFor();
  check(true, "a patrol starts without a network and waits in the outbox");
  await page.getByText("上报发现的问题").click();
  await page.getByLabel("问题", { exact: true }).fill("楼道堆放杂物");
  await page.getByLabel("情况描述").fill("8号楼一单元楼道堆满纸箱，堵塞消防通道");
  await page.getByRole("button", { name: "上报", exact: true }).click();
  await page.getByLabel("类别").selectOption("hazard");
  await page.getByLabel("记录内容").fill("外墙瓷砖松动，需持续关注");
  await page.getByRole("button", { name: "记下" }).click();
  await count(page).getByText(/[34] 条待发送/).waitFor();
  // The page itself opens with no network: the service worker keeps it, the outbox keeps the writes.
  await page.reload();
  await page.getByRole("heading", { name: /^网格工作 · / }).waitFor();
  await count(page).getByText(/[34] 条待发送/).waitFor();
  check(true, `after reloading offline the outbox still holds the writes (${(await count(page).textContent()).trim()})`);
  check((await page.getByTestId("patrol-running").count()) === 1, "the running patrol survives the reload");
  await page.screenshot({ path: join(shots, "gridwork-offline-390.png"), fullPage: true });

  await ctx.setOffline(false);
  await count(page).getByText("全部已发送").waitFor({ timeout: 30000 });
  check(true, "back online, the outbox sends everything");
  await page.getByRole("button", { name: "结束巡查" }).click();
  await page.getByRole("button", { name: "开始巡查" }).waitFor();
  // Until the outbox has sent the end (it sends on its own; no fixed wait).
  let week;
  for (let tries = 0; tries < 300; tries++) {
    const [, after] = await apiAs("steward", "GET", "/api/gridwork/me/week");
    week = JSON.parse(after);
    if (week.patrols.length > start.patrols.length && !week.patrols[0].running) break;
    await page.waitForTimeout(100);
  }
  check(week.patrols.length === start.patrols.length + 1, `one patrol recorded (${week.patrols.length - start.patrols.length})`);
  check(week.findings === start.findings + 1, `one finding recorded (${week.findings - start.findings})`);
  check(week.notes.length === start.notes.length + 1, `one note recorded (${week.notes.length - start.notes.length})`);
  const p = week.patrols[0];
  check(!p.running && p.points >= 1, `the patrol ended with its track (${p.points} points)`);
  check(p.grid_code === GRID, "the patrol is in the steward's grid");
  await page.reload();
  await page.getByTestId("week-patrols").waitFor();
  check((await page.getByTestId("week-patrols").textContent()) === String(week.patrols.length), "my week counts the patrol");
  await ctx.close();

  // ---- The grid worker's visit ----
  const gctx = await newContext({ viewport: { width: 390, height: 844 }, geolocation: where, permissions: ["geolocation"] });
  const gw = await gctx.newPage();
  await signIn(gw, "gridworker");
  await gw.getByRole("link", { name: "网格工作" }).click();
  await gw.getByRole("heading", { name: "入户走访" }).waitFor();
  const visits = gw.getByRole("region", { name: "入户走访" });
  check((await visits.getByRole("button", { name: "记录走访" }).count()) > 0, "the visit plan lists the grid's households");
  check(!/\d{17}[\dX]/.test(await visits.textContent()), "no identity number in the visit plan");
  await visits.getByRole("button", { name: "记录走访" }).first().click();
  await gw.getByLabel("情况", { exact: true }).selectOption("needs_help");
  await gw.getByLabel("提出的诉求").fill("希望社区帮助申请居家养老服务");
  // A photo, with the household's consent (a 1×1 PNG as the phone's camera would give).
  const png = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d49444154789c63f8cfc0f01f0005000" + "1ff89993d1d0000000049454e44ae426082", "hex");
  await gw.getByLabel("照片").setInputFiles({ name: "visit.png", mimeType: "image/png", buffer: png });
  await gw.getByLabel("住户同意拍照留存").check();
  await gw.getByRole("button", { name: "保存走访" }).click();
  await visits.getByText("已记录").first().waitFor();
  let visit;
  for (let tries = 0; tries < 300; tries++) {
    const [, wk] = await apiAs("gridworker", "GET", "/api/gridwork/me/week");
    visit = JSON.parse(wk).visits[0];
    if (visit?.has_photo) break;
    await gw.waitForTimeout(100);
  }
  check(visit !== undefined, "the visit reached the server");
  check(visit?.has_photo === true, "its photo followed it, with the household's consent");
  await count(gw).getByText("全部已发送").waitFor({ timeout: 30000 });
  await axe(gw, "visits at 390px");
  await gw.screenshot({ path: join(shots, "gridwork-visits-390.png"), fullPage: true });

  // ---- A key task from the street, answered on the phone ----
  const deadline = Date.now() + 3 * 86400e3;
  const [status, made] = await apiAs(
    "commander",
    "POST",
    "/api/gridwork/tasks",
    JSON.stringify({ title: "防汛隐患排查", checklist: ["地下室进水", "排水口堵塞"], territory_code: "120101001", level: "grid", deadline_ms: deadline }),
  );
  check(status === 201, `the commander sends a task (${status})`);
  const task = JSON.parse(made);
  await gw.getByRole("link", { name: "重点工作" }).click();
  const share = gw.getByTestId(`share-${GRID}`).filter({ hasText: "防汛隐患排查" });
  await share.waitFor();
  for (const item of ["地下室进水", "排水口堵塞"]) {
    const form = share.getByRole("form", { name: `填报：${item}` });
    await form.getByLabel("发现问题数").fill(item === "排水口堵塞" ? "2" : "0");
    await form.getByRole("button", { name: "保存" }).click();
    await share.locator("li", { hasText: item }).locator(".badge", { hasText: "已检查" }).waitFor();
  }
  await share.getByRole("button", { name: "完成" }).click();
  await share.getByText("已完成").waitFor();
  await axe(gw, "key tasks at 390px");
  await gw.screenshot({ path: join(shots, "gridwork-tasks-390.png"), fullPage: true });
  await gctx.close();

  // ---- The commander's roll-up, at 1440 px ----
  for (const width of [390, 1440]) {
    const cctx = await newContext({ viewport: { width, height: width === 390 ? 844 : 900 } });
    const c = await cctx.newPage();
    await signIn(c, "commander");
    await c.getByRole("link", { name: "重点工作" }).click();
    const section = c.getByRole("region", { name: "防汛隐患排查" }).first();
    const table = section.getByTestId("rollup");
    await table.waitFor();
    const total = await table.getByRole("row").nth(1).textContent();
    check(total.includes(`合计${task.shares}1`), `the street's total shows ${task.shares} shares, 1 done (${total})`);
    await table.getByRole("button", { name: /花园路/ }).click();
    await table.getByRole("cell", { name: "第1网格", exact: false }).first().waitFor().catch(() => {});
    check((await table.textContent()).includes("100.0%"), "one level down, the grid that finished shows 100 %");
    await axe(c, `the roll-up at ${width}px`);
    if (width === 390) {
      const wide = await c.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 390, `no sideways scrolling of the page at 390 px (${wide} px)`);
    }
    await c.screenshot({ path: join(shots, `gridwork-rollup-${width}.png`), fullPage: true });
    if (width === 1440) {
      await c.goto(base + "/#/dashboard");
      await c.getByRole("heading", { name: /网格工作成效/ }).waitFor();
      check((await c.getByTestId("gw-coverage").textContent()).endsWith("%"), "the dashboard shows grid work's patrol coverage");
      await c.screenshot({ path: join(shots, "gridwork-dashboard-1440.png"), fullPage: true });
    }
    await cctx.close();
  }
  // ---- The community's day: the notes of its grids, overdue visits, people and duties ----
  for (const width of [390, 1440]) {
    const mctx = await newContext({ viewport: { width, height: width === 390 ? 844 : 900 } });
    const m = await mctx.newPage();
    await signIn(m, "community");
    await m.getByRole("link", { name: "网格管理" }).click();
    await m.getByRole("heading", { name: "待查看的随手记" }).waitFor();
    if (width === 390) {
      // The steward's note from the patrol above, turned into a case.
      const note = m.getByRole("listitem").filter({ hasText: "外墙瓷砖松动，需持续关注" });
      await note.waitFor();
      await note.getByRole("button", { name: "转为案件" }).click();
      await note.waitFor({ state: "detached" });
      const [, open] = await apiAs("community", "GET", "/api/gridwork/notes?territory=120101001001");
      const made = JSON.parse(open).find((n) => n.text === "外墙瓷砖松动，需持续关注");
      check(made?.status === "case" && made.case_id > 0, `the note became case ${made?.case_id}`);
      // The steward registered in grid 1 and put on duty, from the roster's forms.
      const pick = async (label, part) => {
        const select = m.getByLabel(label, { exact: true });
        const opts = await select.locator("option").allTextContents();
        const i = opts.findIndex((o) => o.includes(part));
        check(i >= 0, `${label} offers ${part}`);
        await select.selectOption({ index: i });
      };
      await m.getByText("登记网格人员").first().click();
      await pick("人员", "小巷管家");
      await pick("网格", "第1网格");
      await m.getByLabel("身份").selectOption("steward");
      await m.getByLabel("队伍").fill("花园路红袖标队");
      await m.getByRole("button", { name: "登记网格人员" }).click();
      await m.getByText("已登记。").waitFor();
      await m.getByTestId("members").getByText(/红袖标队/).waitFor();
      await m.locator("summary", { hasText: "排班" }).click();
      await m.locator("#d-from").fill("00:00");
      await m.locator("#d-to").fill("23:59");
      await m.getByRole("button", { name: "排班" }).click();
      await m.getByText("已排班。").waitFor();
      check((await m.getByRole("region", { name: "人员与值班" }).textContent()).includes("正在值班"), "the roster shows who is on duty");
    }
    await m.getByRole("heading", { name: /到期未访/ }).waitFor();
    await m.getByTestId("outcomes").waitFor();
    check((await m.getByTestId("outcomes").textContent()).includes("第1网格"), "the outcomes table has a row per grid");
    await axe(m, `grid supervision at ${width}px`);
    if (width === 390) {
      const wide = await m.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 390, `no sideways scrolling of grid supervision at 390 px (${wide} px)`);
    }
    await m.screenshot({ path: join(shots, `gridwork-community-${width}.png`), fullPage: true });
    await mctx.close();
  }
  // At 1440 px, the steward's page.
  const wctx = await newContext({ viewport: { width: 1440, height: 900 } });
  const w = await wctx.newPage();
  await signIn(w, "steward");
  await w.goto(base + "/#/grid");
  await w.getByRole("heading", { name: "我的本周" }).waitFor();
  await axe(w, "grid work at 1440px");
  await w.screenshot({ path: join(shots, "gridwork-1440.png"), fullPage: true });
  await wctx.close();
}, join(shots, "gridwork-failure.png"));

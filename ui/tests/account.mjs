// Two-factor sign-in and the security auditor's log in headless Chromium, against a server
// that asks the three administrators (system, security, audit) for a second factor (its default), run by the Rust
// test `ui::second_factor_and_the_audit_log_in_a_browser`:
//   node tests/account.mjs BASE_URL SCREENSHOT_DIR
// The codes are computed here as an authenticator app would (RFC 6238) from the secret the
// enrolment page shows; the server's clock follows the real one.
import { join } from "node:path";
import { createHmac } from "node:crypto";
import { base, shots, check, axe, run, newContext, PASSWORD } from "./lib.mjs";

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, atMs = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000)));
  const h = createHmac("sha1", base32(secret)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

/// Waits for the authenticator's next 30-second step: a code is accepted once, so a second
/// sign-in within one step has no new code to give (this waits on the protocol's clock, not
/// on the server).
async function nextStep() {
  await new Promise((r) => setTimeout(r, 30000 - (Date.now() % 30000) + 200));
}

async function password(page, username) {
  await page.goto(base + "/");
  await page.getByLabel("用户名").fill(username);
  await page.getByLabel("密码").fill(PASSWORD);
  await page.getByRole("button", { name: "登录" }).click();
}

async function enrol(page, username, shot) {
  await password(page, username);
  await page.getByRole("heading", { name: "设置双因素认证" }).waitFor();
  check(await page.getByRole("img", { name: "身份验证器二维码" }).isVisible(), `${username}: the enrolment shows a QR code`);
  const secret = (await page.locator("code.secret").textContent()).replace(/\s/g, "");
  check(/^[A-Z2-7]{32}$/.test(secret), `${username}: the key to type is shown in base32 (${secret.length} characters)`);
  if (shot) {
    await axe(page, "second-factor enrolment");
    await page.screenshot({ path: join(shots, shot), fullPage: true });
  }
  await page.getByLabel("6 位动态码").fill(totp(secret));
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByText(/您好/).waitFor();
  return secret;
}

await run(async () => {
  const phone = await newContext({ viewport: { width: 390, height: 844 } });
  const page = await phone.newPage();
  // The administrator's first sign-in enrols; the home page follows the first code.
  const secret = await enrol(page, "admin", "mfa-enrol-390.png");
  check(await page.getByRole("button", { name: "退出" }).isVisible(), "the administrator enrolled with the code of the shown secret and is signed in");
  check(
    await page.getByText("系统管理员 · 天津市社会治理系统管理办公室", { exact: true }).isVisible(),
    "the home page names the post and its unit, not a code",
  );
  await page.getByRole("link", { name: "账号与安全" }).click();
  await page.getByText("已开启").waitFor();
  check(await page.getByText(/要求双因素认证，不能关闭/).isVisible(), "the account page says the post requires it");
  await axe(page, "account page");
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 390, `no sideways scrolling at 390 px (page is ${wide} px wide)`);
  await page.screenshot({ path: join(shots, "account-390.png"), fullPage: true });

  // The next sign-in asks for a code; a wrong one is refused with a message, the next
  // step's code signs in.
  await page.getByRole("button", { name: "退出" }).click();
  // Signed out once the server has ended the session and the page shows the sign-in form.
  await page.getByRole("heading", { name: "登录" }).waitFor();
  await password(page, "admin");
  await page.getByRole("heading", { name: "动态验证码" }).waitFor();
  check(!(await page.locator("code.secret").count()), "the secret is not shown again");
  const wrong = totp(secret) === "000000" ? "111111" : "000000";
  await page.getByLabel("6 位动态码").fill(wrong);
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByRole("alert").waitFor();
  check((await page.getByRole("alert").textContent()).includes("动态码不正确"), "a wrong code is refused with a message");
  await page.screenshot({ path: join(shots, "mfa-code-390.png"), fullPage: true });
  await nextStep();
  await page.getByLabel("6 位动态码").fill(totp(secret));
  await page.getByRole("button", { name: "登录" }).click();
  await page.getByText(/您好/).waitFor();
  check(await page.getByRole("button", { name: "退出" }).isVisible(), "the next code signs in");

  // Community staff need none, and turn it on from the account page.
  const desk = await newContext({ viewport: { width: 1440, height: 900 } });
  const staff = await desk.newPage();
  await password(staff, "community");
  await staff.getByText(/您好/).waitFor();
  await staff.getByRole("link", { name: "账号与安全" }).click();
  await staff.getByText("未开启").waitFor();
  await staff.getByRole("button", { name: "开启双因素认证" }).click();
  const s2 = (await staff.locator("code.secret").textContent()).replace(/\s/g, "");
  await staff.getByLabel("6 位动态码").fill(totp(s2));
  await staff.getByRole("button", { name: "确认开启" }).click();
  await staff.getByText("双因素认证已开启。").waitFor();
  // The page reads the account's state again after the message: wait for what it then shows.
  await staff.getByRole("button", { name: "关闭双因素认证" }).waitFor();
  check(await staff.getByRole("button", { name: "关闭双因素认证" }).isEnabled(), "staff may turn it off again");
  await staff.screenshot({ path: join(shots, "account-1440.png"), fullPage: true });

  // 三员分立: the system administrator keeps the settings and has no accounts page.
  check(await page.getByRole("link", { name: "系统管理" }).count() === 1, "the system administrator has the settings");
  check(!(await page.getByRole("link", { name: "账号与岗位" }).count()), "the system administrator has no accounts page");
  await page.goto(base + "/#/admin/people");
  await page.getByRole("heading", { name: "区域", exact: true }).waitFor();
  check(!(await page.getByRole("link", { name: "人员", exact: true }).count()), "nor a people tab among the settings");
  await page.getByRole("button", { name: "退出" }).click();
  await page.getByRole("heading", { name: "登录" }).waitFor();

  // The community worker's phone is lost: the security administrator (who enrols first)
  // resets the second factor on the people page, and the password alone signs them in again.
  await enrol(page, "security");
  check(await page.getByRole("link", { name: "账号与岗位" }).count() === 1, "the security administrator has the accounts page");
  check(!(await page.getByRole("link", { name: "系统管理" }).count()), "and not the settings");
  check(!(await page.getByRole("link", { name: "工作台" }).count()), "nor case work");
  const asked = (await (await fetch(base + "/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "community", password: PASSWORD }),
  })).json());
  check(asked.second_factor === "code", "the worker's sign-in now asks for a code");
  await page.goto(base + "/#/admin/people");
  await page.getByRole("heading", { name: "账号管理" }).waitFor();
  const staffMe = await staff.evaluate(async () => (await (await fetch("/api/me")).json()).person.id);
  await page.getByRole("searchbox", { name: "人员：按姓名、用户名或编号搜索" }).last().fill("community");
  await page.locator("#a-person").selectOption(String(staffMe));
  check((await page.locator("#a-person option").count()) === 1, "the search narrows the people to the one asked for");
  await page.getByLabel("操作").selectOption("second_factor");
  await page.getByRole("button", { name: "执行" }).click();
  await page.getByText(/已重置双因素认证/).waitFor();
  await axe(page, "people page with the account form");
  await page.screenshot({ path: join(shots, "people-account-390.png"), fullPage: true });
  const again = await fetch(base + "/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "community", password: PASSWORD }),
  });
  check(again.status === 200, `after the reset the password alone signs the worker in (${again.status})`);

  // The auditor enrols too, then reads the log newest first and checks the chain.
  const audit = await desk.newPage();
  await desk.clearCookies();
  await enrol(audit, "auditor");
  await audit.getByRole("link", { name: "审计日志" }).click();
  await audit.getByRole("heading", { name: "审计日志" }).waitFor();
  await audit.getByRole("cell", { name: "开启双因素认证" }).first().waitFor();
  const staffRow = audit.getByRole("row", { name: /花园路社区工作者.*开启双因素认证/ });
  check((await staffRow.count()) === 1, "the staff's enrolment is in the log, by name");
  check((await audit.getByRole("cell", { name: "开启双因素认证" }).count()) === 4, "four enrolments: system and security administrators, staff, auditor");
  check((await audit.getByRole("row", { name: /安全保密管理员.*管理账号/ }).count()) === 1, "the security administrator's reset is in the log, by name");
  check((await audit.getByRole("cell", { name: "动态码错误" }).count()) === 1, "the wrong code is in the log");
  await audit.getByRole("button", { name: "校验完整性" }).click();
  await audit.getByText(/哈希链完整/).waitFor();
  check(/共 \d+ 条记录/.test(await audit.getByRole("status").textContent()), "the chain checks intact, with its count");
  await axe(audit, "audit log page");
  await audit.screenshot({ path: join(shots, "audit-1440.png"), fullPage: true });
  check(!(await audit.getByRole("link", { name: "工作台" }).count()), "the auditor sees no case work");
  await audit.setViewportSize({ width: 390, height: 844 });
  const narrow = await audit.evaluate(() => document.documentElement.scrollWidth);
  check(narrow <= 390, `the log has no sideways scrolling at 390 px (${narrow} px)`);
  await audit.screenshot({ path: join(shots, "audit-390.png") });
}, join(shots, "account-failure.png"));

// Drives the usage dashboard (GET /usage-viewer) in Debian's chromium,
// headless, through playwright-core (which never downloads a browser).
// Input: one JSON argument {url, wrongKey, goodKey, userDataDir, screenshot},
// or {mode: "approvals", url, regularKey, adminKey, approveId, rejectId,
// userDataDir} for the approvals section (approvalsFlow below), or {mode:
// "accounts", url, goodKey, account, userDataDir, screenshot?} for the
// account selector.
// Output: one JSON line of what the page showed at each step; the Python
// test (test_usage_viewer.py) decides what is right.
import { chromium } from "playwright-core";

const cmd = JSON.parse(process.argv[2]);
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const consoleErrors = [];
const requests = [];

async function loaded(page) {
  await page.waitForSelector("body[data-loaded]", { timeout: 20000 });
  return page.getAttribute("body", "data-loaded");
}

// Text of every shown cell of every body row of a table, row by row.
function rows(page, sel) {
  return page.$$eval(sel + " tbody tr", (trs) =>
    trs.map((tr) => Array.from(tr.cells)
      .filter((td) => getComputedStyle(td).display !== "none")
      .map((td) => td.textContent.trim())));
}

async function snapshot(page) {
  return {
    loaded: await page.getAttribute("body", "data-loaded"),
    keyVisible: await page.isVisible("#key-section"),
    keyMessage: (await page.textContent("#key-message")).trim(),
    quotaInfo: (await page.textContent("#quota-info")).trim(),
    quotas: await page.$$eval("[data-quota]", (cs) => Object.fromEntries(cs.map((c) => [
      c.getAttribute("data-quota"),
      { used: c.querySelector(".quota-used").textContent.trim(),
        bar: (c.querySelector(".bar > div") || { style: {} }).style.width || null }]))),
    totals: await page.$$eval("[data-metric]", (ms) => Object.fromEntries(ms.map((m) => [
      m.getAttribute("data-metric"), m.querySelector("b").textContent.trim()]))),
    byModel: await rows(page, "#by-model"),
    pressed: await page.$$eval("#period-switch [aria-pressed=true]",
      (bs) => bs.map((b) => b.getAttribute("data-period"))),
    chart: await page.$$eval("#chart rect.day", (rs) => rs.map((r) => [
      r.getAttribute("data-date"), Number(r.getAttribute("data-total")),
      Number(r.getAttribute("height"))])),
    events: await rows(page, "#events"),
    eventsPage: (await page.textContent("#events-page")).trim(),
    accountsShown: {
      selector: await page.isVisible("#account-filter"),
      table: await page.isVisible("#by-account"),
      column: await page.isVisible("#events thead th.acct"),
    },
    byAccount: await rows(page, "#by-account"),
    accountOptions: await page.$$eval("#account-filter option", (os) => os.map((o) => o.value)),
  };
}

// Types a key into the page's key field and waits for every section.
async function enterKey(page, key) {
  await page.evaluate(() => document.body.removeAttribute("data-loaded"));
  await page.fill("#api-key", key);
  await page.click("#key-form button[type=submit]");
  await loaded(page);
  return snapshot(page);
}

// The approvals section: hidden for a regular key; for the admin key it
// lists the held requests, and its buttons approve one and reject the other.
async function approvalsFlow(page, setPhase) {
  const res = {};
  const row = (id) => `#approvals tr[data-approval-id="${id}"]`;
  const section = async () => ({
    visible: await page.isVisible("#approvals-section"),
    rows: await rows(page, "#approvals"),
    ids: await page.$$eval("#approvals tr[data-approval-id]",
      (trs) => trs.map((tr) => tr.getAttribute("data-approval-id"))),
    info: (await page.textContent("#approvals-info")).trim(),
  });
  await page.goto(cmd.url);
  await loaded(page);
  setPhase("regularKey");
  res.regular = { loaded: (await enterKey(page, cmd.regularKey)).loaded, ...(await section()) };
  setPhase("adminKey");
  await page.click("#key-change");
  res.adminLoaded = (await enterKey(page, cmd.adminKey)).loaded;
  await page.waitForSelector(row(cmd.approveId), { timeout: 20000 });
  await page.waitForSelector(row(cmd.rejectId), { timeout: 20000 });
  res.admin = await section();
  await page.click(row(cmd.approveId) + " [data-decision=approve]");
  await page.waitForSelector(row(cmd.approveId), { state: "detached", timeout: 20000 });
  res.afterApprove = await section();
  await page.click(row(cmd.rejectId) + " [data-decision=reject]");
  await page.waitForSelector(row(cmd.rejectId), { state: "detached", timeout: 20000 });
  res.afterReject = await section();
  return res;
}

const context = await chromium.launchPersistentContext(cmd.userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
  viewport: { width: 1200, height: 900 },
});
const out = {};
try {
  const page = context.pages()[0] || await context.newPage();
  let phase = "open";
  page.on("console", (m) => {
    if (m.type() === "error")
      consoleErrors.push({ phase, text: m.text(), url: m.location().url || "" });
  });
  page.on("pageerror", (e) => consoleErrors.push({ phase, text: "pageerror: " + e.message }));
  page.on("request", (r) => requests.push(r.url()));

  if (cmd.mode === "approvals") {
    Object.assign(out, await approvalsFlow(page, (p) => { phase = p; }));
  } else if (cmd.mode === "accounts") {
    // every account, then the one chosen in the selector, then a reload
    // of the URL the choice left
    await page.goto(cmd.url);
    await loaded(page);
    phase = "goodKey";
    out.all = await enterKey(page, cmd.goodKey);
    await page.evaluate(() => document.body.removeAttribute("data-loaded"));
    await page.selectOption("#account-filter", cmd.account);
    await loaded(page);
    out.chosen = await snapshot(page);
    out.urlAfterChoice = page.url();
    if (cmd.screenshot) await page.screenshot({ path: cmd.screenshot, fullPage: true });
    await page.reload();
    await loaded(page);
    out.reload = await snapshot(page);
  } else {
    await page.goto(cmd.url);
    await loaded(page);
    out.noKey = await snapshot(page);

    phase = "wrongKey";
    out.wrongKey = await enterKey(page, cmd.wrongKey);
    phase = "goodKey";
    out.day = await enterKey(page, cmd.goodKey);

    for (const p of ["week", "month"]) {
      await page.click(`#period-switch [data-period=${p}]`);
      await loaded(page);
      out[p] = await snapshot(page);
    }
    out.urlAfterSwitch = page.url();

    phase = "reload";
    await page.reload();
    await loaded(page);
    out.reload = await snapshot(page);
    await page.screenshot({ path: cmd.screenshot, fullPage: true });
  }
} finally {
  await context.close();
}
out.consoleErrors = consoleErrors;
out.requests = requests;
console.log(JSON.stringify(out));

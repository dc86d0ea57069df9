// Open the stock MLflow UI served by Harvester in Debian's headless Chromium, page by page: each page must
// show its expected text, and no API request may fail (>= 400), apart from users/current (404 without auth).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, seedJson, outDir] = process.argv.slice(2);
const seed = JSON.parse(seedJson);
mkdirSync(outDir, { recursive: true });
const [run1, run2] = seed.runs;
const exp = seed.experiment_id;
const pages = [
  ["experiments", "#/experiments", ["ui-harvest"]],
  ["runs-table", `#/experiments/${exp}/runs`, ["baseline-run", "tuned-run"]],
  ["run-overview", `#/experiments/${exp}/runs/${run1}`, ["baseline-run", "learning_rate", "0.1"]],
  ["run-metrics", `#/experiments/${exp}/runs/${run1}/model-metrics`, ["loss", "accuracy"]],
  ["run-artifacts", `#/experiments/${exp}/runs/${run1}/artifacts/notes/readme.txt`, ["Harvester artifact preview works."]],
  ["compare-runs", `#/compare-runs?runs=${encodeURIComponent(JSON.stringify(seed.runs))}&experiments=${encodeURIComponent(JSON.stringify([exp]))}`, ["baseline-run", "tuned-run"]],
  ["model-registry", "#/models", [seed.model]],
  ["registered-model", `#/models/${seed.model}`, ["Version 2", "champion"]],
  ["model-version", `#/models/${seed.model}/versions/1`, ["Version 1"]],
];
// With auth on (UI_USER/UI_PASSWORD, ui-tests/run.sh with UI_AUTH=1): logged in with basic credentials, the
// same pages plus the admin pages of users and roles.
const user = process.env.UI_USER;
const creds = user ? { username: user, password: process.env.UI_PASSWORD } : undefined;
const authHeader = creds ? { Authorization: "Basic " + Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } : {};
if (creds) {
  pages.push(["admin-users", "#/admin", ["ui-reader"]]);
  pages.push(["account", "#/account", [creds.username]]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, httpCredentials: creds });
let failures = 0;
for (const [label, hash, texts] of pages) {
  const page = await context.newPage();
  const bad = [];
  page.on("response", (r) => {
    const u = r.url();
    const api = /ajax-api|\/graphql|get-artifact/.test(u);
    if (api && r.status() >= 400 && !u.includes("users/current")) bad.push(`${r.status()} ${r.request().method()} ${u}`);
  });
  await page.goto(`${base}/${hash}`);
  const missing = [];
  for (const t of texts) {
    try {
      await page.getByText(t, { exact: false }).first().waitFor({ timeout: 20000 });
    } catch {
      missing.push(t);
    }
  }
  if (label === "run-metrics") {
    try {
      await page.locator("canvas, svg.main-svg").first().waitFor({ timeout: 20000 });
    } catch {
      missing.push("(a drawn chart)");
    }
  }
  await page.waitForTimeout(1500); // let the page's remaining requests finish before judging them
  await page.screenshot({ path: `${outDir}/${label}.png`, fullPage: true });
  const ok = bad.length === 0 && missing.length === 0;
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} ${label}${missing.length ? " missing " + JSON.stringify(missing) : ""}${bad.length ? " failed requests " + JSON.stringify(bad) : ""}`);
  await page.close();
}

// Serving: once the seeded versions' scans pass, the dashboard lists them, and Swagger UI selects one and
// "Try it out" returns predictions from its worker.
async function serving() {
  const want = `${seed.model} v2`;
  const deadline = Date.now() + 90000;
  for (;;) {
    const index = await (await fetch(`${base}/serving/openapi.json`, { headers: authHeader })).json();
    if (index["x-harvester-models"].some((m) => m.name === seed.model && m.version === "2")) break;
    if (Date.now() > deadline) throw new Error(`not served: ${JSON.stringify(index)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const page = await context.newPage();
  await page.goto(`${base}/serving/`);
  await page.getByText(seed.model).first().waitFor({ timeout: 20000 });
  await page.locator("a.passed").first().waitFor({ timeout: 20000 });
  await page.locator("a.swagger").first().waitFor({ timeout: 20000 });
  await page.screenshot({ path: `${outDir}/serving-dashboard.png`, fullPage: true });
  await page.goto(`${base}/serving/docs/`);
  const select = page.locator(".download-url-wrapper select");
  await select.waitFor({ timeout: 20000 });
  await select.selectOption({ label: want });
  await page.getByText(`Predict with ${want}`).first().waitFor({ timeout: 20000 });
  await page.locator(".opblock-post .opblock-summary").first().click();
  // The served documents open with "Try it out" on (tryItOutEnabled); press it if a build shows it.
  const tryIt = page.getByRole("button", { name: "Try it out" });
  if (await tryIt.count()) await tryIt.first().click();
  await page.getByRole("button", { name: "Execute" }).click();
  const body = page.locator(".live-responses-table .response-col_description pre").first();
  await body.waitFor({ timeout: 60000 });
  await page.waitForFunction(() => {
    const el = document.querySelector(".live-responses-table .response-col_description pre");
    return el && el.textContent.includes("predictions");
  }, null, { timeout: 60000 });
  const text = await body.textContent();
  await page.screenshot({ path: `${outDir}/serving-swagger.png`, fullPage: true });
  await page.close();
  return text;
}
try {
  const text = await serving();
  console.log(`ok   serving (Swagger UI answered ${text.replace(/\s+/g, " ").slice(0, 80)})`);
} catch (e) {
  failures++;
  console.log(`FAIL serving: ${e.message}`);
}

await browser.close();
console.log(failures ? `${failures} page(s) failed` : `all ${pages.length} pages and serving ok; screenshots in ${outDir}`);
process.exit(failures ? 1 : 0);

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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
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
await browser.close();
console.log(failures ? `${failures} page(s) failed` : `all ${pages.length} pages ok; screenshots in ${outDir}`);
process.exit(failures ? 1 : 0);

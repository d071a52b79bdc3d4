// Opens every page in both languages at desktop and phone width and audits it (labels,
// translations, width, contrast, keyboard), collecting console errors and CSP violations.
// Config: { edge_url, pages: ["/", "/buyer", ...] }. Result: { visited, problems }.

import { auditPage, launch, readConfig, watchPage, writeResult } from './harness.mjs';

const config = readConfig();
const problems = [];
const visited = [];

const { browser, close } = await launch(config);
try {
  // Both languages have every string.
  const page = await browser.newPage();
  await page.goto(`${config.edge_url}/`);
  const [en, zh] = await page.evaluate(async () => {
    const i18n = await import('/assets/i18n.js');
    return [i18n.keys('en'), i18n.keys('zh')];
  });
  for (const key of en) if (!zh.includes(key)) problems.push(`i18n: "${key}" has no Chinese text`);
  for (const key of zh) if (!en.includes(key)) problems.push(`i18n: "${key}" has no English text`);
  if (en.length < 100) problems.push(`i18n: only ${en.length} strings`);
  await page.close();

  for (const width of [1280, 360]) {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    watchPage(page, problems, `${width}px`);
    for (const path of config.pages) {
      for (const lang of ['zh', 'en']) {
        const where = `${path}?lang=${lang} at ${width}px`;
        const response = await page.goto(`${config.edge_url}${path}?lang=${lang}`, { waitUntil: 'networkidle' });
        if (!response || response.status() !== 200) {
          problems.push(`${where}: status ${response && response.status()}`);
          continue;
        }
        const htmlLang = await page.evaluate(() => document.documentElement.lang);
        if (!htmlLang.startsWith(lang)) problems.push(`${where}: <html lang> is ${htmlLang}`);
        for (const problem of await auditPage(page)) problems.push(`${where}: ${problem}`);
        visited.push(where);
      }
    }
    await context.close();
  }
} finally {
  await close();
}
writeResult(config, { visited, problems });

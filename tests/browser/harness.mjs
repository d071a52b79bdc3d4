// What every browser script shares: Debian's Chromium through playwright-core (never a
// downloaded browser), a record of every request and response between the pages and the edge,
// and a dump of a page's storage (localStorage, sessionStorage, IndexedDB, Cache Storage).
//
// Scripts take one argument, a JSON file written by the Rust test (see tests/src/browser.rs),
// and write their result as JSON to the path it names in `result_path`.

import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The flags that work on this machine (no sandbox in containers, no network chatter). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The config the Rust test wrote. */
export function readConfig() {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node <script>.mjs <config.json>');
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Writes the script's result where the Rust test reads it. */
export function writeResult(config, result) {
  writeFileSync(config.result_path, JSON.stringify(result, null, 1));
}

/**
 * Debian's Chromium. `persistent` gives one context whose storage lives in a fresh user data
 * dir that the caller may inspect afterwards (a terminal keeping its keys); otherwise a browser
 * whose contexts (`browser.newContext()`) are isolated from each other, in the fresh temporary
 * profile playwright-core makes for every launch.
 */
export async function launch(config, { persistent = false } = {}) {
  const options = {
    executablePath: config.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  };
  if (persistent) {
    const userDataDir = mkdtempSync(join(config.scratch_dir || tmpdir(), 'chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, options);
    return { context, userDataDir, close: () => context.close() };
  }
  const browser = await chromium.launch(options);
  return { browser, close: () => browser.close() };
}

/**
 * Records every request the context makes to `origin` and every response, with headers and
 * bodies (decoded: what the page sent and received). Entries go into `record`.
 */
export function recordNetwork(context, origin, record, tag) {
  context.on('response', async (response) => {
    const request = response.request();
    if (!request.url().startsWith(origin)) return;
    const entry = {
      tag,
      method: request.method(),
      url: request.url(),
      request_headers: await request.allHeaders().catch(() => request.headers()),
      request_body: request.postData() || '',
      status: response.status(),
      response_headers: await response.allHeaders().catch(() => response.headers()),
      response_body: '',
    };
    record.pending.push(
      response
        .body()
        .then((body) => {
          entry.response_body = body.toString('latin1');
        })
        .catch(() => {
          entry.response_body = '';
        })
        .finally(() => record.entries.push(entry)),
    );
  });
  context.on('requestfailed', (request) => {
    if (!request.url().startsWith(origin)) return;
    record.entries.push({
      tag,
      method: request.method(),
      url: request.url(),
      request_headers: request.headers(),
      request_body: request.postData() || '',
      status: 0,
      response_headers: {},
      response_body: '',
      failure: request.failure() ? request.failure().errorText : 'failed',
    });
  });
}

/** A fresh network record. */
export function newRecord() {
  return { entries: [], pending: [] };
}

/** Waits for every body still being read, then returns the entries. */
export async function settle(record) {
  await Promise.all(record.pending);
  return record.entries;
}

/**
 * Everything the page's origin keeps in the browser: localStorage, sessionStorage, every
 * IndexedDB database (all stores, all values, as JSON), and every Cache Storage entry
 * (request URL and body text).
 */
export async function dumpStorage(page) {
  return page.evaluate(async () => {
    const text = (value) => {
      try {
        return JSON.stringify(value, (_, v) => {
          if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
          if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer));
          if (typeof CryptoKey !== 'undefined' && v instanceof CryptoKey) {
            return { cryptokey: v.type, algorithm: v.algorithm.name, extractable: v.extractable };
          }
          return v;
        });
      } catch (e) {
        return String(value);
      }
    };
    const local = {};
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      local[key] = localStorage.getItem(key);
    }
    const session = {};
    for (let i = 0; i < sessionStorage.length; i += 1) {
      const key = sessionStorage.key(i);
      session[key] = sessionStorage.getItem(key);
    }
    const indexed = {};
    for (const info of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open(info.name);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const stores = {};
      for (const name of db.objectStoreNames) {
        stores[name] = await new Promise((resolve, reject) => {
          const request = db.transaction(name, 'readonly').objectStore(name).getAll();
          request.onsuccess = () => resolve(request.result.map(text));
          request.onerror = () => reject(request.error);
        });
      }
      db.close();
      indexed[info.name] = stores;
    }
    const caches_ = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      const entries = [];
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        entries.push({ url: request.url, body: response ? await response.text() : '' });
      }
      caches_[name] = entries;
    }
    return { localStorage: local, sessionStorage: session, indexedDB: indexed, cacheStorage: caches_ };
  });
}

/** Collects console errors and CSP violations of a page, so a broken page fails the test. */
export function watchPage(page, problems, tag) {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${tag}: console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${tag}: page error: ${error.message}`));
}

/**
 * Checks a page as a person with a phone, a screen reader or a keyboard meets it. Returns a
 * list of problems (empty when fine):
 * - every input, select, textarea and button has an accessible name;
 * - no text shows an untranslated key (`area.name`);
 * - nothing is wider than the viewport (usable at 360 px);
 * - visible text has a WCAG contrast of at least 4.5:1 (3:1 for large text);
 * - every visible, enabled control is reachable with Tab.
 */
export async function auditPage(page) {
  const problems = await page.evaluate(() => {
    const found = [];
    const visible = (node) => {
      const style = getComputedStyle(node);
      const box = node.getBoundingClientRect();
      return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
    };
    const describe = (node) => `${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ''}`;
    for (const control of document.querySelectorAll('input, select, textarea, button')) {
      if (control.type === 'hidden') continue;
      const named =
        (control.labels && control.labels.length > 0 && [...control.labels].some((l) => l.textContent.trim())) ||
        (control.getAttribute('aria-label') || '').trim() ||
        (control.getAttribute('aria-labelledby') || '').trim() ||
        (control.tagName === 'BUTTON' && control.textContent.trim());
      if (!named) found.push(`${describe(control)} has no label`);
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const keyLike = /^[a-z_]+\.[a-z_]+$/;
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      if (keyLike.test(text.textContent.trim())) found.push(`untranslated key "${text.textContent.trim()}"`);
    }
    for (const node of document.querySelectorAll('[aria-label], [placeholder], img[alt]')) {
      for (const attr of ['aria-label', 'placeholder', 'alt']) {
        const value = (node.getAttribute(attr) || '').trim();
        if (keyLike.test(value)) found.push(`untranslated key "${value}" in ${attr}`);
      }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
      found.push(`page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px viewport`);
    }
    const channel = (c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    const parse = (color) => {
      const m = color.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const luminance = ({ r, g, b }) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const background = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const contrast = (node, fg) => {
      const bg = background(node);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      return (hi + 0.05) / (lo + 0.05);
    };
    // Controls draw their own text (a select's value is no text node): check them too.
    for (const control of document.querySelectorAll('input, select, textarea, button')) {
      if (!visible(control) || control.disabled || ['checkbox', 'radio', 'hidden'].includes(control.type)) continue;
      const fg = parse(getComputedStyle(control).color);
      const ratio = fg ? contrast(control, fg) : 21;
      if (ratio < 4.5) found.push(`contrast ${ratio.toFixed(2)}:1 inside ${describe(control)}`);
    }
    const checked = new Set();
    const walker2 = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let text = walker2.nextNode(); text; text = walker2.nextNode()) {
      const node = text.parentElement;
      if (!node || checked.has(node) || !text.textContent.trim() || !visible(node)) continue;
      checked.add(node);
      if (node.closest('button:disabled')) continue;
      const style = getComputedStyle(node);
      const fg = parse(style.color);
      if (!fg) continue;
      const ratio = contrast(node, fg);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        found.push(`contrast ${ratio.toFixed(2)}:1 for "${text.textContent.trim().slice(0, 30)}" in ${describe(node)}`);
      }
    }
    return found;
  });
  // Keyboard: Tab from the top must reach every visible, enabled control.
  const wanted = await page.evaluate(() => {
    const nodes = [...document.querySelectorAll('a[href], input, select, textarea, button')].filter((n) => {
      const style = getComputedStyle(n);
      const box = n.getBoundingClientRect();
      return !n.disabled && n.type !== 'hidden' && style.visibility !== 'hidden' && box.width > 0 && box.height > 0;
    });
    nodes.forEach((n, i) => n.setAttribute('data-audit-tab', String(i)));
    return nodes.length;
  });
  await page.evaluate(() => {
    document.activeElement && document.activeElement.blur && document.activeElement.blur();
    window.scrollTo(0, 0);
  });
  const reached = new Set();
  for (let i = 0; i < wanted + 5; i += 1) {
    await page.keyboard.press('Tab');
    const index = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-audit-tab'));
    if (index !== null && index !== undefined) reached.add(index);
  }
  await page.evaluate(() => document.querySelectorAll('[data-audit-tab]').forEach((n) => n.removeAttribute('data-audit-tab')));
  if (reached.size < wanted) {
    problems.push(`only ${reached.size} of ${wanted} controls are reachable with Tab`);
  }
  return problems;
}

// The seed's journey through the pages, in Chromium, against a running stack:
//   a seller opens a shop; a buyer registers (sealed in the page) and orders; the seller prints
//   the label; a pickup terminal and the hub terminals of 330108 → 3301 → 1101 → 110105 each
//   enrol their device with ops and scan; the final hub opens the recipient and delivers; the
//   buyer sees who saw the address.
// Every request and response between the pages and the edge is recorded.
//
// Config (written by tests/tests/pages.rs or `cargo xtask screenshots`):
//   edge_url, origin_url, ops_token, person {name, phone, region, line, postal_code},
//   hubs: [{key, hub_id, code, level, role}] in route order (the first is the pickup scanner),
//   mode: "test" | "screenshots" | "latency", screenshot_dir, latency_scans.
// Result: see `result` below.

import {
  auditPage,
  dumpStorage,
  launch,
  newRecord,
  readConfig,
  recordNetwork,
  settle,
  watchPage,
  writeResult,
} from './harness.mjs';

const config = readConfig();
const edge = config.edge_url;
const person = config.person;
const problems = [];
const record = newRecord();
const verdicts = [];
const timings = [];
const WIDTHS = { desktop: 1024, phone: 360 };

const shared = await launch(config);
// The final hub's terminal keeps its storage in its own profile directory, which the test
// searches byte by byte once the browser is closed.
const finalHub = await launch(config, { persistent: true });

async function open(context, tag, path) {
  const page = await context.newPage();
  watchPage(page, problems, tag);
  await page.setViewportSize({ width: WIDTHS.desktop, height: 900 });
  await page.goto(`${edge}${path}?lang=zh`, { waitUntil: 'networkidle' });
  return page;
}

async function newContext(tag) {
  const context = await shared.browser.newContext();
  recordNetwork(context, edge, record, tag);
  return context;
}
recordNetwork(finalHub.context, edge, record, 'terminal-110105');

/** Saves `page` at both widths in both languages as docs/screenshots/<name>-<lang>-<width>.png. */
async function shoot(page, name) {
  if (config.mode !== 'screenshots') return;
  for (const lang of ['zh', 'en']) {
    await page.selectOption('#lang', lang);
    for (const [width, px] of Object.entries(WIDTHS)) {
      await page.setViewportSize({ width: px, height: 800 });
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      await page.screenshot({ path: `${config.screenshot_dir}/${name}-${lang}-${width}.png`, fullPage: true });
    }
  }
  await page.selectOption('#lang', 'zh');
  await page.setViewportSize({ width: WIDTHS.desktop, height: 900 });
}

async function audit(page, where) {
  for (const problem of await auditPage(page)) problems.push(`${where}: ${problem}`);
}

async function text(page, selector) {
  return (await page.locator(selector).textContent()).trim();
}

async function journey() {
  // ---- the seller opens a shop ----
  const sellerContext = await newContext('seller');
  const seller = await open(sellerContext, 'seller', '/seller');
  await seller.fill('#seller-name', '杭州滨江茶叶铺');
  await seller.click('#register-form button[type=submit]');
  await seller.locator('#account').waitFor({ state: 'visible' });
  const sellerId = await text(seller, '#seller-id');

  // ---- the buyer registers, sealed in the page, and orders ----
  const home = await open(sellerContext, 'home', '/');
  await shoot(home, 'home');
  await home.close();

  const buyerContext = await newContext('buyer');
  const buyer = await open(buyerContext, 'buyer', '/buyer');
  await shoot(buyer, 'buyer-register');
  // Typed as a person would, from the keyboard.
  await buyer.focus('#buyer-name');
  await buyer.keyboard.type(person.name);
  await buyer.keyboard.press('Tab');
  await buyer.keyboard.type(person.phone);
  const registerForm = buyer.locator('#register-form');
  await registerForm.locator('input[name=region]').fill(person.region);
  await registerForm.locator('input[name=line]').fill(person.line);
  await registerForm.locator('input[name=postal_code]').fill(person.postal_code);
  await registerForm.locator('button[type=submit]').press('Enter');
  await buyer.locator('#profile-name').filter({ hasText: person.name }).waitFor();
  const buyerId = await text(buyer, '#profile-buyer-id');
  // The buyer changes the street line (sealed in the browser, bound to this address) before
  // ordering: the final hub must get the new version.
  await buyer.locator('#address-list button').first().click();
  const addressForm = buyer.locator('#address-form');
  await addressForm.locator('input[name=line]').fill(person.changed_line);
  await addressForm.locator('button[type=submit]').click();
  await buyer.locator('#address-list').filter({ hasText: person.changed_line }).waitFor();
  const addressesShown = await buyer.locator('#address-list li').count();
  if (addressesShown !== 1) problems.push(`buyer: ${addressesShown} addresses after a change, not 1`);
  await buyer.fill('#order-seller', sellerId);
  await buyer.click('#order-form button[type=submit]');
  await buyer.locator('#order-rows tr').first().waitFor();
  const orderId = await buyer.locator('#order-rows tr').first().getAttribute('data-order');
  await audit(buyer, 'buyer profile');
  await shoot(buyer, 'buyer-profile');

  // ---- the seller prints the label ----
  await seller.click('#refresh');
  const row = seller.locator(`#order-rows tr[data-order="${orderId}"]`);
  await row.waitFor();
  const listedBuyer = (await row.locator('td').nth(1).textContent()).trim();
  await audit(seller, 'seller orders');
  await shoot(seller, 'seller-orders');
  await row.locator('a').click();
  await seller.waitForURL(/\/label\?order=/);
  await seller.locator('#label-svg').waitFor();
  await seller.waitForFunction(() => {
    const img = document.getElementById('label-svg');
    return img && img.complete && img.naturalWidth > 0;
  });
  const printed = {
    platform: await text(seller, '#label-platform'),
    order: await text(seller, '#label-order'),
    buyer: await text(seller, '#label-buyer'),
    carrier: await text(seller, '#carrier'),
  };
  await audit(seller, 'label');
  await shoot(seller, 'label');
  // The print view: only the label, on an A6 sheet.
  await seller.emulateMedia({ media: 'print' });
  const printView = await seller.evaluate(() => ({
    // Hidden on paper: the element, or a parent, is not rendered.
    barHidden: !document.querySelector('header.bar').checkVisibility(),
    buttonHidden: !document.getElementById('print').checkVisibility(),
    labelShown: document.getElementById('label-svg').getBoundingClientRect().width > 0,
  }));
  await seller.emulateMedia({ media: 'screen' });
  // The QR code carries this text; a scanner gun types it into the terminal.
  const labelCode = `lasthop:v1:${printed.platform}:${printed.order}:${printed.buyer}`;

  // ---- each terminal enrols its device with ops ----
  async function enrol(hub, context) {
    const page = await open(context, `terminal-${hub.key}`, '/terminal');
    await page.click('#make-keys');
    await page.locator('#device-qr-image').waitFor();
    const payload = await page.locator('#device-qr-image').getAttribute('data-payload');
    if (hub.key === 'hub-3301') {
      await audit(page, 'terminal enrolment');
      await shoot(page, 'terminal-enrol');
    }
    // Ops reads the code and issues the device's credential (ops talks to the origin directly).
    const issued = await fetch(`${config.origin_url}/v1/ops/scanners`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.ops_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hub_id: hub.hub_id, role: hub.role, device: JSON.parse(payload) }),
    });
    if (issued.status !== 201) throw new Error(`ops refused the device of ${hub.key}: ${await issued.text()}`);
    const { token } = await issued.json();
    await page.fill('#credential', token);
    await page.click('#credential-form button[type=submit]');
    await page.locator('#scan').waitFor({ state: 'visible' });
    return { page, payload };
  }

  async function scan(page, code, extra = {}) {
    await page.fill('#scan-code', code);
    for (const [selector, value] of Object.entries(extra)) await page.fill(selector, value);
    const before = await page.locator('#verdict').getAttribute('data-shown-at');
    await page.click('#scan-submit');
    await page.waitForFunction(
      (previous) => {
        const box = document.getElementById('verdict');
        return box.dataset.shownAt && box.dataset.shownAt !== previous;
      },
      before,
    );
    const shown = {
      word: await text(page, '#verdict-word'),
      plain: await text(page, '#verdict-plain'),
    };
    verdicts.push(shown);
    return shown;
  }

  const terminals = {};
  for (const hub of config.hubs) {
    const context = hub.code === person.region ? finalHub.context : await newContext(`terminal-${hub.key}`);
    terminals[hub.key] = (await enrol(hub, context)).page;
  }

  // ---- pickup, then each hub along the route ----
  const [pickup, ...route] = config.hubs;
  await scan(terminals[pickup.key], labelCode, { '#scan-waybill': 'SF1234567890' });
  for (const hub of route) {
    const page = terminals[hub.key];
    const verdict = await scan(page, printed.order);
    if (hub.key === 'hub-3301') {
      await audit(page, 'terminal verdict');
      await shoot(page, 'terminal-verdict');
    }
    if (config.mode === 'latency' && hub.key === 'hub-3301') {
      // The same hub scanning again gets the same verdict: time scan → verdict on the page.
      for (let i = 0; i < config.latency_scans; i += 1) {
        timings.push(
          await page.evaluate(async (order) => {
            const box = document.getElementById('verdict');
            const before = box.dataset.shownAt;
            document.getElementById('scan-code').value = order;
            const started = performance.now();
            const shown = new Promise((resolve) => {
              const watch = new MutationObserver(() => {
                if (box.dataset.shownAt !== before) {
                  watch.disconnect();
                  resolve();
                }
              });
              watch.observe(box, { attributes: true });
            });
            document.getElementById('scan-form').requestSubmit();
            await shown;
            return Number(box.dataset.shownAt) - started;
          }, printed.order),
        );
      }
    }
    void verdict;
  }

  // ---- the final hub: the recipient on the device only, then delivery ----
  const final = terminals[route[route.length - 1].key];
  await final.locator('#recipient').waitFor({ state: 'visible' });
  const recipientShown = {
    name: await text(final, '#recipient-name'),
    phone: await text(final, '#recipient-phone'),
    line: await text(final, '#recipient-line'),
    postal_code: await text(final, '#recipient-postal'),
  };
  await audit(final, 'terminal recipient');
  await shoot(final, 'terminal-deliver');
  // A language switch renders the verdict and the erase time shown again, in the new language.
  await final.selectOption('#lang', 'en');
  for (const selector of ['#verdict-plain', '#verdict-detail', '#recipient-erase']) {
    const shown = await text(final, selector);
    if (!shown || /[\u3400-\u9fff]/.test(shown)) {
      problems.push(`terminal: ${selector} is not in English after the switch: ${shown}`);
    }
  }
  await final.selectOption('#lang', 'zh');
  // The recipient signs on the screen, then the courier confirms from the keyboard.
  const pad = await final.locator('#signature').boundingBox();
  await final.mouse.move(pad.x + 20, pad.y + 60);
  await final.mouse.down();
  await final.mouse.move(pad.x + 120, pad.y + 30, { steps: 5 });
  await final.mouse.move(pad.x + 220, pad.y + 90, { steps: 5 });
  await final.mouse.up();
  await final.selectOption('#handed-to', 'recipient');
  await final.focus('#deliver-submit');
  const beforeDelivery = await final.locator('#verdict').getAttribute('data-shown-at');
  await final.keyboard.press('Enter');
  await final.waitForFunction(
    (previous) => document.getElementById('verdict').dataset.shownAt !== previous,
    beforeDelivery,
  );
  const delivered = { word: await text(final, '#verdict-word'), plain: await text(final, '#verdict-plain') };
  verdicts.push(delivered);
  const afterDelivery = {
    recipientHidden: await final.locator('#recipient').isHidden(),
    domHasName: await final.evaluate((name) => document.body.innerText.includes(name), person.name),
    storage: await dumpStorage(final),
  };

  // ---- the buyer sees the order delivered and who saw the address ----
  await buyer.click('#reload');
  await buyer.locator('#access-rows tr').first().waitFor();
  const accessLog = await buyer.locator('#access-rows tr').first().innerText();
  await buyer.locator(`#order-rows tr[data-order="${orderId}"] button`).click();
  const tracking = await buyer.locator('#tracking-hops').innerText();
  const buyerStatus = await buyer.locator(`#order-rows tr[data-order="${orderId}"] td`).nth(1).innerText();
  await shoot(buyer, 'buyer-access-log');

  const network = await settle(record);
  await final.close();
  await shared.close();
  await finalHub.close();

  return {
    seller_id: sellerId,
    buyer_id: buyerId,
    order_id: orderId,
    listed_buyer: listedBuyer,
    printed,
    print_view: printView,
    verdicts,
    recipient_shown: recipientShown,
    delivered,
    after_delivery: afterDelivery,
    final_profile_dir: finalHub.userDataDir,
    access_log: accessLog,
    tracking,
    buyer_status: buyerStatus,
    timings_ms: timings,
    problems,
    network,
  };
}

try {
  writeResult(config, await journey());
} catch (error) {
  // Say how far it got: the Rust test prints this with its failure.
  writeResult(config, {
    failed: String(error && error.stack ? error.stack : error),
    verdicts,
    timings_ms: timings,
    problems,
    network: await settle(record).catch(() => []),
  });
  await shared.close().catch(() => {});
  await finalHub.close().catch(() => {});
}

// The buyer's page. Name, phone and addresses are sealed here, with the core's HPKE (wasm), to
// the vault's public key before they leave the browser; the profile comes back sealed to a key
// this browser made at registration and keeps (localStorage `lasthop.buyer`), so the edge in
// between relays ciphertext only, both ways. Opened personal data lives in this page's memory
// and DOM only, never in storage.
import {
  api,
  busy,
  core,
  describeError,
  el,
  say,
  setupLanguage,
  stored,
  t,
  when,
} from './common.js';

const KEY = 'lasthop.buyer';
const status = document.getElementById('status');
let profile = null; // the opened profile: memory only

for (const slot of document.querySelectorAll('[data-address-fields]')) {
  slot.replaceWith(document.getElementById('address-fields').content.cloneNode(true));
}

function addressInput(form) {
  return {
    country: 'CN',
    region: form.region.value.trim(),
    line: form.line.value.trim(),
    postal_code: form.postal_code.value.trim(),
    label: form.label.value.trim(),
  };
}

/** The vault's current intake key, relayed by the edge. */
function intakeKey() {
  return api('GET', '/v1/vault/intake-key');
}

/** Marks the field the core refused and says so. */
function refuse(form, error) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  if (error && error.field) {
    const name = error.field.replace(/^address\./, '');
    const input = form.elements[name];
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    say(status, t('buyer.bad_field', { field: t(`field.${name}`) }), 'error');
    return;
  }
  say(status, describeError(error), 'error');
}

document.getElementById('register-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  await busy(form.querySelector('button[type=submit]'), async () => {
    try {
      const wasm = await core();
      const key = await intakeKey();
      const platform_id = form.platform_id.value.trim();
      const sealed = wasm.sealRegistration(key, platform_id, {
        name: form.name.value.trim(),
        phone: form.phone.value.trim(),
        address: addressInput(form),
      });
      const answer = await api('POST', '/v1/buyers/sealed', { body: sealed.body });
      stored.set(KEY, {
        platform_id,
        buyer_id: answer.buyer_id,
        buyer_token: answer.buyer_token,
        profile_secret: sealed.profile_secret,
      });
      form.reset();
      say(status, t('buyer.registered'), 'ok');
      await show();
    } catch (error) {
      refuse(form, error);
    }
  });
});

document.getElementById('address-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const session = stored.get(KEY);
  await busy(form.querySelector('button[type=submit]'), async () => {
    try {
      const wasm = await core();
      const key = await intakeKey();
      const target = form.target.value;
      if (target) {
        // A change of one of this buyer's addresses: sealed bound to the buyer and that address.
        const body = wasm.sealAddressChange(key, session.buyer_id, target, addressInput(form));
        await api('PUT', `/v1/buyers/me/addresses/${encodeURIComponent(target)}/sealed`, {
          token: session.buyer_token,
          body,
        });
      } else {
        const body = wasm.sealAddress(key, session.buyer_id, addressInput(form));
        await api('POST', '/v1/buyers/me/addresses/sealed', { token: session.buyer_token, body });
      }
      form.reset();
      say(status, t(target ? 'buyer.address_changed' : 'buyer.address_saved'), 'ok');
      await loadProfile();
    } catch (error) {
      refuse(form, error);
    }
  });
});

document.getElementById('order-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const session = stored.get(KEY);
  await busy(form.querySelector('button[type=submit]'), async () => {
    try {
      const answer = await api('POST', '/v1/orders', {
        token: session.buyer_token,
        body: { seller_id: form.seller_id.value.trim(), address_id: form.address_id.value },
      });
      form.seller_id.value = '';
      say(status, t('buyer.ordered', { order: answer.order_id }), 'ok');
      await loadProfile();
    } catch (error) {
      say(status, describeError(error), 'error');
    }
  });
});

/** Fills the address form with `address` (the buyer's own record) to change it. */
function editAddress(address) {
  const form = document.getElementById('address-form');
  form.target.value = address.address_id;
  form.label.value = address.label;
  form.region.value = address.region;
  form.line.value = address.line;
  form.postal_code.value = address.postal_code;
  form.line.focus();
}

async function loadProfile() {
  const session = stored.get(KEY);
  const wasm = await core();
  const answer = await api('GET', '/v1/buyers/me/sealed', { token: session.buyer_token });
  try {
    profile = wasm.openProfile(session.profile_secret, session.buyer_id, answer.profile);
  } catch {
    say(status, t('buyer.no_key'), 'error');
    return;
  }
  await render();
}

async function render() {
  const session = stored.get(KEY);
  document.getElementById('profile-buyer-id').textContent = profile.buyer_id;
  document.getElementById('profile-name').textContent = profile.name;
  document.getElementById('profile-phone').textContent = profile.phone;

  const byId = new Map(profile.addresses.map((a) => [a.address_id, a]));
  document.getElementById('address-list').replaceChildren(
    ...profile.addresses.map((address) =>
      el(
        'li',
        { class: 'card', dataset: { address: address.address_id } },
        el('strong', {}, address.label),
        el('div', {}, address.line),
        el('div', { class: 'hint' }, t('buyer.region_postal', { region: address.region, postal: address.postal_code })),
        el('div', { class: 'hint mono' }, address.address_id),
        el(
          'button',
          {
            type: 'button',
            class: 'secondary',
            'aria-label': t('buyer.edit_address', { label: address.label }),
            onclick: () => editAddress(address),
          },
          t('buyer.edit'),
        ),
      ),
    ),
  );
  const target = document.getElementById('address-target');
  target.replaceChildren(
    el('option', { value: '' }, t('buyer.address_target_new')),
    ...profile.addresses.map((a) =>
      el('option', { value: a.address_id }, t('buyer.address_target_change', { label: a.label })),
    ),
  );
  const select = document.getElementById('order-address');
  select.replaceChildren(
    ...profile.addresses.map((a) => el('option', { value: a.address_id }, `${a.label} — ${a.line}`)),
  );

  const orders = profile.orders || [];
  const statuses = await Promise.all(
    orders.map((o) =>
      api('GET', `/v1/orders/${encodeURIComponent(o.order_id)}/tracking`, { token: session.buyer_token }).catch(
        () => null,
      ),
    ),
  );
  document.getElementById('order-rows').replaceChildren(
    ...orders.map((order, i) =>
      el(
        'tr',
        { dataset: { order: order.order_id } },
        el('td', { class: 'mono' }, order.order_id),
        el('td', {}, statuses[i] ? t(`order_status.${statuses[i].status}`) : '—'),
        el('td', {}, when(order.created_at)),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': t('buyer.track_order', { order: order.order_id }),
              onclick: () => showTracking(order.order_id, statuses[i]),
            },
            t('buyer.track'),
          ),
        ),
      ),
    ),
  );
  document.getElementById('no-orders').hidden = orders.length > 0;

  const log = profile.access_log || [];
  document.getElementById('access-rows').replaceChildren(
    ...log.map((entry) =>
      el(
        'tr',
        {},
        el('td', {}, el('span', { class: 'mono' }, entry.hub_id), ' ', t('buyer.hub_code', { code: entry.hub_code })),
        el('td', { class: 'mono' }, entry.order_id),
        el('td', {}, byId.has(entry.address_id) ? byId.get(entry.address_id).label : entry.address_id),
        el('td', {}, entry.purpose ? t(`purpose.${entry.purpose}`) : ''),
        el('td', {}, when(entry.at)),
      ),
    ),
  );
  document.getElementById('no-access').hidden = log.length > 0;
}

function showTracking(orderId, tracking) {
  const box = document.getElementById('tracking');
  box.hidden = false;
  document.getElementById('tracking-heading').textContent = t('buyer.tracking_of', { order: orderId });
  const hops = tracking ? tracking.hops || [] : [];
  document.getElementById('tracking-hops').replaceChildren(
    ...(hops.length
      ? hops.map((hop) =>
          el(
            'li',
            {},
            `${when(hop.at)} — `,
            t(`level.${hop.level}`, { code: hop.code || '' }),
            ' ',
            hop.code ? el('span', { class: 'mono' }, hop.code) : '',
            ' — ',
            t(`verdict_short.${hop.verdict}`),
          ),
        )
      : [el('li', {}, tracking ? t(`order_status.${tracking.status}`) : t('error.unavailable'))]),
  );
}

document.getElementById('reload').addEventListener('click', () => loadProfile().catch(fail));
document.getElementById('sign-out').addEventListener('click', () => {
  stored.remove(KEY);
  profile = null;
  say(status, '');
  show();
});

function fail(error) {
  say(status, describeError(error), 'error');
}

async function show() {
  const session = stored.get(KEY);
  document.getElementById('register').hidden = !!session;
  for (const id of ['profile', 'addresses', 'orders', 'access']) {
    document.getElementById(id).hidden = !session;
  }
  if (session) await loadProfile().catch(fail);
}

setupLanguage(() => {
  if (profile) render();
});
show();

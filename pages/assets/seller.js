// The seller's page: open an account, list the orders (ids and status only), open a label.
import { api, busy, describeError, el, say, setupLanguage, stored, t, when } from './common.js';

const KEY = 'lasthop.seller';
const status = document.getElementById('status');

function show() {
  const session = stored.get(KEY);
  document.getElementById('register').hidden = !!session;
  document.getElementById('account').hidden = !session;
  document.getElementById('orders').hidden = !session;
  if (session) {
    document.getElementById('seller-id').textContent = session.seller_id;
    document.getElementById('seller-platform-shown').textContent = session.platform_id;
    loadOrders();
  }
}

async function loadOrders() {
  const session = stored.get(KEY);
  if (!session) return;
  try {
    const answer = await api('GET', '/v1/seller/orders', { token: session.seller_token });
    renderOrders(answer.orders || []);
  } catch (error) {
    say(status, describeError(error), 'error');
  }
}

function renderOrders(orders) {
  const rows = document.getElementById('order-rows');
  rows.replaceChildren(
    ...orders.map((order) =>
      el(
        'tr',
        { dataset: { order: order.order_id } },
        el('td', { class: 'mono' }, order.order_id),
        el('td', { class: 'mono' }, order.buyer_id),
        el('td', {}, t(`order_status.${order.status}`)),
        el('td', {}, when(order.created_at)),
        el(
          'td',
          {},
          order.status === 'delivered'
            ? ''
            : el(
                'a',
                {
                  class: 'button',
                  href: `/label?order=${encodeURIComponent(order.order_id)}`,
                  'aria-label': t('seller.label_for', { order: order.order_id }),
                },
                t('seller.label'),
              ),
        ),
      ),
    ),
  );
  document.getElementById('no-orders').hidden = orders.length > 0;
}

document.getElementById('register-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button');
  await busy(button, async () => {
    try {
      const platform_id = form.platform_id.value.trim();
      const answer = await api('POST', '/v1/sellers', {
        body: { platform_id, name: form.name.value.trim() },
      });
      stored.set(KEY, { platform_id, seller_id: answer.seller_id, seller_token: answer.seller_token });
      say(status, t('seller.registered'), 'ok');
      show();
    } catch (error) {
      say(status, describeError(error), 'error');
    }
  });
});

document.getElementById('refresh').addEventListener('click', loadOrders);
document.getElementById('sign-out').addEventListener('click', () => {
  stored.remove(KEY);
  say(status, '');
  show();
});

setupLanguage(show);
show();

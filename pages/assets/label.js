// The label print view: the edge's SVG label (QR code and the three printed ids) on an A6
// sheet, and the carrier where the order has one.
import { api, describeError, say, setupLanguage, stored, svgImage, t } from './common.js';

const status = document.getElementById('status');
const printButton = document.getElementById('print');

async function load() {
  const session = stored.get('lasthop.seller');
  const order = new URLSearchParams(location.search).get('order');
  if (!session || !order) {
    say(status, t('label.no_session'), 'error');
    return;
  }
  try {
    const [svg, listing] = await Promise.all([
      api('GET', `/v1/seller/orders/${encodeURIComponent(order)}/label`, {
        token: session.seller_token,
        accept: 'image/svg+xml',
      }),
      api('GET', '/v1/seller/orders', { token: session.seller_token }),
    ]);
    const image = svgImage(svg, t('label.image_alt', { order }));
    image.id = 'label-svg';
    document.getElementById('label-image').replaceChildren(image);
    const entry = (listing.orders || []).find((o) => o.order_id === order);
    document.getElementById('label-platform').textContent = entry ? entry.platform_id : session.platform_id;
    document.getElementById('label-order').textContent = order;
    document.getElementById('label-buyer').textContent = entry ? entry.buyer_id : '';
    document.getElementById('printed-ids').hidden = false;
    const carrier = entry && entry.carrier;
    const carrierNode = document.getElementById('carrier');
    carrierNode.hidden = !carrier;
    carrierNode.textContent = carrier ? t('label.carrier', { carrier: carrier.name || carrier }) : '';
    printButton.disabled = false;
  } catch (error) {
    say(status, describeError(error), 'error');
  }
}

printButton.addEventListener('click', () => window.print());
setupLanguage(load);
load();

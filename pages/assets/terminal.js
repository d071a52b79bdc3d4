// The hub terminal (an installable PWA). The device's keys are made here:
// - the Ed25519 signing key with WebCrypto, not extractable: no script, not even this page's
//   own, can read it out of the browser, only ask the browser to sign with it while open;
// - the X25519 receiving key with the core's wasm (HPKE needs ChaCha20-Poly1305, which
//   WebCrypto lacks); its secret half is kept in IndexedDB.
// Every scan is signed with the core's device scheme (the same text `lasthop-terminal` signs).
// At the final hop the recipient is opened here and kept in this page's memory and DOM only,
// never in any storage; delivery, `erase_after` or closing the page erases it.
import {
  api,
  ApiError,
  applyLanguage,
  busy,
  core,
  describeError,
  el,
  say,
  setupLanguage,
  svgImage,
  t,
  when,
} from './common.js';

const status = document.getElementById('status');
const DB_NAME = 'lasthop-terminal';
const STORE = 'device';
const RECORD = 'current';

// ---- the device record in IndexedDB: keys and credential, never a recipient ----

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function dbDo(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request && request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const device = {
  load: () => dbDo('readonly', (store) => store.get(RECORD)),
  save: (record) => dbDo('readwrite', (store) => store.put(record, RECORD)),
  forget: () => dbDo('readwrite', (store) => store.delete(RECORD)),
};

// ---- encoding ----

function base64url(bytes) {
  let binary = '';
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- enrolment ----

async function makeKeys() {
  const wasm = await core();
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const signKey = base64url(await crypto.subtle.exportKey('raw', pair.publicKey));
  const box = wasm.newBoxKey();
  const record = {
    sign_private: pair.privateKey,
    sign_key: signKey,
    box_secret: box.secret,
    box_key: box.public_key,
    token: null,
    claims: null,
  };
  await device.save(record);
  return record;
}

async function showPublicKeys(record) {
  const wasm = await core();
  document.getElementById('device-public').hidden = false;
  document.getElementById('device-sign-key').textContent = record.sign_key;
  document.getElementById('device-box-key').textContent = record.box_key;
  const payload = wasm.enrolmentPayload(record.sign_key, record.box_key);
  const qr = svgImage(wasm.qrSvg(payload), t('terminal.qr_alt'));
  qr.id = 'device-qr-image';
  qr.dataset.payload = payload;
  document.getElementById('device-qr').replaceChildren(qr);
}

document.getElementById('make-keys').addEventListener('click', async (event) => {
  await busy(event.currentTarget, async () => {
    try {
      const record = (await device.load()) || (await makeKeys());
      await showPublicKeys(record);
      say(status, t('terminal.keys_made'), 'ok');
      document.getElementById('credential').focus();
    } catch (error) {
      say(status, t('terminal.no_keys'), 'error');
    }
  });
});

document.getElementById('credential-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  await busy(form.querySelector('button'), async () => {
    try {
      const wasm = await core();
      const token = form.credential.value.trim();
      const record = await device.load();
      const claims = wasm.readScannerCredential(token, record.sign_key);
      record.token = token;
      record.claims = claims;
      await device.save(record);
      form.reset();
      say(status, t('terminal.ready'), 'ok');
      await show();
    } catch (error) {
      say(status, t('terminal.bad_credential'), 'error');
    }
  });
});

document.getElementById('forget-device').addEventListener('click', async () => {
  if (!window.confirm(t('terminal.forget_confirm'))) return;
  erase();
  await device.forget();
  say(status, t('terminal.forgotten'), 'ok');
  await show();
});

// ---- signed scans ----

/** POSTs `body` to a courier endpoint, signed with the device key, and returns the answer. */
async function courier(path, body) {
  const wasm = await core();
  const record = await device.load();
  const text = JSON.stringify(body);
  const bytes = new TextEncoder().encode(text);
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = randomHex(16);
  const signed = wasm.scanText('POST', path, bytes, record.claims.tid, BigInt(timestamp), nonce);
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, record.sign_private, new TextEncoder().encode(signed));
  const headers = {
    authorization: `Bearer ${record.token}`,
    'content-type': 'application/json',
    'x-lasthop-device-timestamp': String(timestamp),
    'x-lasthop-device-nonce': nonce,
    'x-lasthop-device-signature': base64url(signature),
  };
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers, body: text, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, answer && answer.error ? answer.error : 'unavailable', answer && answer.message);
  }
  return answer;
}

// ---- the verdict ----

// The texts are functions, so a language switch renders the verdict shown again in the new
// language (a string is taken as it is).
let shownVerdict = null;

function showVerdict(word, plain, kind, detail = '') {
  shownVerdict = { word, plain, kind, detail };
  renderVerdict();
  document.getElementById('verdict').dataset.shownAt = String(performance.now());
}

function renderVerdict() {
  if (!shownVerdict) return;
  const text = (value) => (typeof value === 'function' ? value() : value);
  const { word, plain, kind, detail } = shownVerdict;
  const box = document.getElementById('verdict');
  box.hidden = false;
  box.className = `verdict ${kind}`.trim();
  document.getElementById('verdict-word').textContent = word;
  document.getElementById('verdict-plain').textContent = text(plain);
  document.getElementById('verdict-detail').textContent = text(detail);
}

function verdictOf(answer) {
  if (answer.status === 'picked_up') return ['picked_up', () => t('verdict.picked_up'), 'ok'];
  switch (answer.verdict) {
    case 'forward_up':
      return ['forward_up', () => t('verdict.forward_up'), ''];
    case 'route_to':
      return [
        `route_to ${answer.next_hop.level} ${answer.next_hop.code}`,
        () => t(`verdict.route_to_${answer.next_hop.level}`, { code: answer.next_hop.code }),
        '',
      ];
    case 'deliver':
      return ['deliver', () => t('verdict.deliver'), 'deliver'];
    default:
      return [String(answer.verdict || answer.status), '', ''];
  }
}

// ---- the recipient: memory and DOM only ----

let current = null; // { order_id, platform_id, release_id, erase_after, timer }

function erase(releaseIds) {
  if (!current) return;
  if (releaseIds && !releaseIds.includes(current.release_id)) return;
  clearTimeout(current.timer);
  current = null;
  for (const id of ['recipient-name', 'recipient-phone', 'recipient-line', 'recipient-region', 'recipient-postal', 'recipient-erase']) {
    document.getElementById(id).textContent = '';
  }
  clearSignature();
  document.getElementById('recipient').hidden = true;
}

function showRecipient(order, answer, recipient) {
  erase();
  const eraseAt = new Date(answer.erase_after).getTime();
  current = {
    order_id: order.order_id,
    platform_id: order.platform_id,
    release_id: answer.release_id,
    erase_after: answer.erase_after,
    timer: setTimeout(() => {
      erase();
      say(status, t('terminal.erased_expired'), 'ok');
    }, Math.max(0, eraseAt - Date.now())),
  };
  document.getElementById('recipient-name').textContent = recipient.name;
  document.getElementById('recipient-phone').textContent = recipient.phone;
  document.getElementById('recipient-line').textContent = recipient.line;
  document.getElementById('recipient-region').textContent = recipient.region;
  document.getElementById('recipient-postal').textContent = recipient.postal_code;
  renderEraseTime();
  document.getElementById('recipient').hidden = false;
}

/** When the recipient shown is erased, in the page's language. */
function renderEraseTime() {
  if (current) document.getElementById('recipient-erase').textContent = when(current.erase_after);
}

// A page that is closed or hidden for good takes the recipient with it.
window.addEventListener('pagehide', () => erase());
// A phone that slept past `erase_after` has not run the timer yet: check on waking.
document.addEventListener('visibilitychange', () => {
  if (current && Date.now() >= new Date(current.erase_after).getTime()) {
    erase();
    say(status, t('terminal.erased_expired'), 'ok');
  }
});

// ---- scanning ----

async function readCode(raw) {
  const wasm = await core();
  const text = raw.trim();
  if (text.startsWith('lasthop:')) return wasm.readLabel(text);
  return { order_id: text, platform_id: null, buyer_id: null };
}

/** Opens the recipient sealed to this device; `null` when there is none that opens here. */
async function openRecipient(label, answer) {
  if (!answer.sealed_recipient) return null;
  try {
    const wasm = await core();
    const record = await device.load();
    return wasm.openRecipient(record.box_secret, answer.release_id, label.order_id, answer.sealed_recipient);
  } catch {
    return null;
  }
}

async function scan(label) {
  const record = await device.load();
  const form = document.getElementById('scan-form');
  const platform_id = label.platform_id || form.platform_id.value.trim();
  let answer;
  if (record.claims.role === 'pickup') {
    const buyer_id = label.buyer_id || form.buyer_id.value.trim();
    answer = await courier('/v1/scans/pickup', {
      platform_id,
      order_id: label.order_id,
      buyer_id,
      waybill: form.waybill.value.trim(),
    });
  } else {
    answer = await courier('/v1/scans/hop', { platform_id, order_id: label.order_id });
  }
  label.platform_id = platform_id;
  return answer;
}

document.getElementById('scan-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  await busy(document.getElementById('scan-submit'), async () => {
    say(status, '');
    try {
      let label;
      try {
        label = await readCode(form.code.value);
      } catch {
        showVerdict('error', () => t('terminal.unreadable_code'), 'refused');
        return;
      }
      const answer = await scan(label);
      const [word, plain, kind] = verdictOf(answer);
      if (answer.verdict === 'deliver') {
        const recipient = await openRecipient(label, answer);
        if (!recipient) {
          showVerdict(word, () => t('terminal.cannot_open'), 'refused');
          return;
        }
        showRecipient(label, answer, recipient);
        showVerdict(word, plain, kind, () => t('verdict.deliver_detail', { when: when(answer.erase_after) }));
      } else {
        showVerdict(word, plain, kind);
      }
      form.code.value = '';
      form.code.focus();
    } catch (error) {
      showVerdict(error.code || 'error', () => describeError(error), 'refused');
    }
  });
});

// ---- delivery ----

const canvas = document.getElementById('signature');
const pen = canvas.getContext('2d');
let strokes = [];

function clearSignature() {
  strokes = [];
  pen.clearRect(0, 0, canvas.width, canvas.height);
}

canvas.addEventListener('pointerdown', (event) => {
  canvas.setPointerCapture(event.pointerId);
  const box = canvas.getBoundingClientRect();
  const point = [Math.round(((event.clientX - box.left) * canvas.width) / box.width), Math.round(((event.clientY - box.top) * canvas.height) / box.height)];
  strokes.push([point]);
  pen.beginPath();
  pen.moveTo(...point);
});
canvas.addEventListener('pointermove', (event) => {
  if (!event.buttons || strokes.length === 0) return;
  const box = canvas.getBoundingClientRect();
  const point = [Math.round(((event.clientX - box.left) * canvas.width) / box.width), Math.round(((event.clientY - box.top) * canvas.height) / box.height)];
  strokes[strokes.length - 1].push(point);
  pen.lineWidth = 3;
  pen.lineTo(...point);
  pen.stroke();
});
document.getElementById('clear-signature').addEventListener('click', clearSignature);

/** The proof of receipt: who took the parcel and the drawn signature as an SVG path. */
function proofOfReceipt(handedTo) {
  const path = strokes.map((stroke) => `M${stroke.map((p) => p.join(' ')).join('L')}`).join('');
  return `handed_to=${handedTo};signature=${path || 'none'}`.slice(0, 4096);
}

document.getElementById('deliver-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!current) return;
  const form = event.currentTarget;
  await busy(document.getElementById('deliver-submit'), async () => {
    try {
      const answer = await courier('/v1/scans/deliver', {
        platform_id: current.platform_id,
        order_id: current.order_id,
        release_id: current.release_id,
        signature: proofOfReceipt(form.handed_to.value),
      });
      erase(answer.erase || []);
      erase();
      showVerdict('delivered', () => t('verdict.delivered'), 'ok');
      say(status, t('terminal.erased_delivered'), 'ok');
    } catch (error) {
      showVerdict(error.code || 'error', () => describeError(error), 'refused');
    }
  });
});

// ---- camera (BarcodeDetector where the browser has it) ----

async function setupCamera() {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices) return;
  const formats = await window.BarcodeDetector.getSupportedFormats().catch(() => []);
  if (!formats.includes('qr_code')) return;
  document.getElementById('camera-box').hidden = false;
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  const video = document.getElementById('video');
  document.getElementById('camera').addEventListener('click', async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      say(status, t('terminal.no_camera'), 'error');
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const stop = () => {
      stream.getTracks().forEach((track) => track.stop());
      video.srcObject = null;
      video.hidden = true;
    };
    const look = async () => {
      if (!video.srcObject) return;
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length > 0) {
        stop();
        document.getElementById('scan-code').value = codes[0].rawValue;
        document.getElementById('scan-form').requestSubmit();
        return;
      }
      setTimeout(look, 200);
    };
    look();
  });
}

// ---- the page ----

async function show() {
  const record = await device.load().catch(() => null);
  const ready = !!(record && record.token);
  document.getElementById('enrol').hidden = ready;
  document.getElementById('scan').hidden = !ready;
  document.getElementById('device').hidden = !ready;
  if (!ready && record) await showPublicKeys(record);
  if (ready) {
    const claims = record.claims;
    document.getElementById('hub-badge').textContent = `${claims.hub_level} ${claims.hub_code}`;
    document.getElementById('device-hub').textContent = `${claims.hub_id} (${claims.hub_level} ${claims.hub_code})`;
    document.getElementById('device-role').textContent = t(`terminal.role_${claims.role}`);
    document.getElementById('device-scanner').textContent = claims.scanner_id;
    document.getElementById('pickup-fields').hidden = claims.role !== 'pickup';
    document.getElementById('scan-code').focus();
  } else {
    document.getElementById('hub-badge').textContent = '';
  }
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/terminal' }).catch(() => {});
}
setupLanguage(() => {
  applyLanguage();
  show();
  renderVerdict();
  renderEraseTime();
});
setupCamera();
show();

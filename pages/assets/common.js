// What every page shares: calls to the edge, the language switch, safe DOM building and the
// browser wasm of the core. No third-party code; nothing here writes HTML from data (every
// value is set as text).

import { translate, LANGUAGES } from './i18n.js';

const LANG_KEY = 'lasthop.lang';

/** The page's language: `?lang=`, the stored choice, else the browser's. */
export function currentLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked && LANGUAGES.includes(asked)) return asked;
  const stored = localStorage.getItem(LANG_KEY);
  if (stored && LANGUAGES.includes(stored)) return stored;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** `key` in the page's language, with `{name}` replaced from `vars`. */
export function t(key, vars = {}) {
  return translate(currentLanguage(), key, vars);
}

/** Fills every `data-i18n` element (text) and `data-i18n-*` attribute in `root`. */
export function applyLanguage(root = document) {
  const lang = currentLanguage();
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const node of root.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const attr of ['placeholder', 'aria-label', 'title', 'content']) {
    const data = `data-i18n-${attr}`;
    for (const node of root.querySelectorAll(`[${data}]`)) {
      node.setAttribute(attr, t(node.getAttribute(data)));
    }
  }
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = title.textContent;
}

/** The links of the page bar: path, text key, page name. */
const NAV = [
  ['/buyer', 'nav.buyer', 'buyer'],
  ['/seller', 'nav.seller', 'seller'],
  ['/terminal', 'nav.terminal', 'terminal'],
];

/**
 * Fills the page's `<header class="bar">`: the brand, the links (none on the terminal, an
 * installed app of its own, which gets a slot for its hub instead) and the language switch.
 */
function renderHeader() {
  const bar = document.querySelector('header.bar');
  if (!bar || bar.childElementCount > 0) return;
  const page = document.body.dataset.page;
  const terminal = page === 'terminal';
  const links = NAV.map(([href, key, name]) =>
    el('a', { href, 'data-i18n': key, 'aria-current': name === page ? 'page' : false }, key),
  );
  bar.append(
    el('a', { class: 'brand', href: terminal ? '/terminal' : '/' }, 'lasthop'),
    terminal
      ? el('span', { id: 'hub-badge', class: 'mono' })
      : el('nav', { 'aria-label': 'nav.label', 'data-i18n-aria-label': 'nav.label' }, links),
    el(
      'label',
      {},
      el('span', { 'data-i18n': 'lang.label' }, 'lang.label'),
      el('select', { id: 'lang' }, el('option', { value: 'zh' }, '中文'), el('option', { value: 'en' }, 'English')),
    ),
  );
}

/** Builds the page bar, wires its language switch and applies the language once. */
export function setupLanguage(onChange = () => {}) {
  renderHeader();
  const select = document.getElementById('lang');
  if (select) {
    select.value = currentLanguage();
    select.addEventListener('change', () => {
      localStorage.setItem(LANG_KEY, select.value);
      const url = new URL(location.href);
      url.searchParams.delete('lang');
      history.replaceState(null, '', url);
      // A message shown in the old language would stay in it: clear it.
      const status = document.getElementById('status');
      if (status) status.textContent = '';
      applyLanguage();
      onChange();
    });
  }
  applyLanguage();
}

/** An error answered by the edge in the contract's format. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/**
 * One call to the edge (same origin). `body` is sent as JSON; the answer is parsed as JSON
 * (or returned as text for other content types). Errors become `ApiError`.
 */
export async function api(method, path, { token, body, accept } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accept) headers.accept = accept;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'network', t('error.network'));
  }
  const type = response.headers.get('content-type') || '';
  const payload = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const code = payload && payload.error ? payload.error : 'unavailable';
    throw new ApiError(response.status, code, payload && payload.message);
  }
  return payload;
}

/** A sentence for an error, in the page's language (the contract's message as a fallback). */
export function describeError(error) {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    const text = t(key);
    return text === key ? error.message : text;
  }
  return t('error.unexpected');
}

/** Shows `text` in a status region (`role="status"` or `role="alert"` elements). */
export function say(node, text, kind = '') {
  node.textContent = text;
  node.className = `status ${kind}`.trim();
}

/** Builds an element: `el('td', {class: 'mono'}, 'text', child)`. Strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined || value === null) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An `<img>` showing SVG text (a QR code, a label) without ever parsing it into the page. */
export function svgImage(svg, alt) {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  const img = el('img', { src: url, alt });
  img.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  return img;
}

/** A time from the API (RFC 3339) in the page's language. */
export function when(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339;
  return date.toLocaleString(currentLanguage() === 'zh' ? 'zh-CN' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}

/** A JSON value kept in localStorage (never personal data: ids, credentials, public keys). */
export const stored = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || 'null');
    } catch {
      return null;
    }
  },
  set(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  },
  remove(key) {
    localStorage.removeItem(key);
  },
};

let corePromise;
/** The core compiled for the browser (`pages/pkg/`), loaded once. */
export function core() {
  if (!corePromise) {
    corePromise = import('/pkg/lasthop_browser.js').then(async (module) => {
      await module.default();
      return module;
    });
  }
  return corePromise;
}

/** Disables `button` while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// DOM helpers. Text is only ever set with textContent or text nodes: nothing a rider wrote can
// become markup: the console never parses a string as HTML (a test scans for such calls).
import { t, lang } from './i18n.js';

/**
 * Creates an element. `attrs`: `class`, `text` (textContent), `on*` listeners, `dataset`,
 * booleans as properties, anything else as an attribute. Children: nodes, strings (text nodes),
 * arrays, and null/undefined/false (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element (attributes only; `text` sets its textContent). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // Through the CSSOM: the CSP forbids style attributes, not this.
    else if (k === 'style') el.style.cssText = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, String(v));
  }
}

/** Appends children (see `h`). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Empties an element. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

const locale = () => (lang === 'en' ? 'en-GB' : 'zh-CN');

/** A time as the clerk reads it, in the browser's zone. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(locale(), { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function fmtDate(d) {
  return d.toLocaleDateString(locale(), { month: '2-digit', day: '2-digit' });
}

/** Seconds as "3 h 20 min" / "2 天 4 小时". */
export function fmtDuration(secs) {
  if (secs == null) return '—';
  const neg = secs < 0;
  let s = Math.abs(Math.round(secs));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); const ss = s % 60;
  let out;
  if (d > 0) out = t('dur.dh', { d, h: hh });
  else if (hh > 0) out = t('dur.hm', { h: hh, m: mm });
  else if (mm > 0) out = t('dur.ms', { m: mm, s: ss });
  else out = t('dur.s', { s: ss });
  return neg ? '-' + out : out;
}

/** A percentage from a 0–1 rate. */
export function fmtRate(r) {
  return r == null ? '—' : (r * 100).toFixed(1) + '%';
}

/** Great-circle distance in metres. */
export function distanceM(a, b) {
  const R = 6371008.8, rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLng = (b.lng - a.lng) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(x));
}

/** A local date (yyyy-mm-dd) for date inputs. */
export function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A `datetime-local` value for a Date. */
export function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${isoDay(d)}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Saves a Blob as a file. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

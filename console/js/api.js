// The API client: the staff token, the browser's language for error messages, and the one
// error shape `{code, message, details}` turned into an ApiError.
import { lang } from './i18n.js';
import * as session from './session.js';

const BASE = '/api/v1';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{code?: string, message?: string, details?: any}} body
   * @param {number | null} retryAfter
   */
  constructor(status, body, retryAfter) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || 'http_' + status;
    this.details = body.details ?? null;
    this.retryAfter = retryAfter;
  }
}

/** Called when the session has ended (401): back to the login page. */
let onSignedOut = () => {};
export function whenSignedOut(fn) { onSignedOut = fn; }

/**
 * Calls the API.
 * @param {string} method
 * @param {string} path  below /api/v1, e.g. `/triage/reports`
 * @param {{query?: Record<string, any>, json?: any, body?: BodyInit, type?: string,
 *          accept?: 'json' | 'text' | 'blob', headers?: Record<string, string>}} [opts]
 */
export async function api(method, path, opts = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const headers = { 'Accept-Language': lang === 'en' ? 'en' : 'zh-CN', ...(opts.headers || {}) };
  const s = session.current();
  if (s) headers.Authorization = 'Bearer ' + s.token;
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  } else if (opts.type) {
    headers['Content-Type'] = opts.type;
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { code: 'network', message: lang === 'en' ? 'The server cannot be reached.' : '无法连接服务器，请检查网络。' }, null);
  }
  if (!resp.ok) {
    let err = {};
    try { err = await resp.json(); } catch { /* not our error shape */ }
    const retry = resp.headers.get('Retry-After');
    if (resp.status === 401 && s) {
      session.forget();
      onSignedOut();
    }
    throw new ApiError(resp.status, err, retry ? Number(retry) : null);
  }
  if (resp.status === 204) return null;
  const accept = opts.accept || 'json';
  if (accept === 'text') return resp.text();
  if (accept === 'blob') return resp.blob();
  return resp.json();
}

/** Every item of a paged list, following `next_cursor` up to `max` items. */
export async function all(path, query = {}, max = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path, { query: { ...query, limit: 100, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** Uploads one photo (`POST /media`, multipart field `file`); answers `{id, url, …}`. */
export async function upload(file) {
  const form = new FormData();
  form.append('file', file, file.name || 'photo.jpg');
  return api('POST', '/media', { body: form });
}

const memo = new Map();
/** A value fetched once per page load (categories, units): `fn` runs on the first call. */
export function once(key, fn) {
  if (!memo.has(key)) memo.set(key, fn().catch((e) => { memo.delete(key); throw e; }));
  return memo.get(key);
}

/** The report categories by code (`GET /reports/categories`). */
export const categories = () => once('categories', async () => {
  const list = await api('GET', '/reports/categories');
  return { list, byCode: Object.fromEntries(list.map((c) => [c.code, c])) };
});

/** Every unit (`GET /triage/units`): names for transfers and admins' pickers. */
export const units = () => once('units', async () => (await api('GET', '/triage/units')).items);

/** A unit with its outline (`GET /triage/unit`). */
export const unitOutline = (officeId) => once('unit:' + (officeId || ''), () => api('GET', '/triage/unit', { query: { office_id: officeId } }));

/** Every place of the city as riders see them (`GET /places` over a box holding all of China). */
export const allPlaces = () => all('/places', { bbox: '73,18,136,54' }, 5000);

// The staff session: the token and its expiry (the API's staff session lasts the working day),
// kept in localStorage so a reload or a new tab stays logged in until it expires.
const KEY = 'xhb.console.session';

/** @typedef {{token: string, expires_at: string, role: string}} Session */

/** @returns {Session | null} */
export function current() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (s && s.token && Date.parse(s.expires_at) > Date.now()) return s;
  } catch { /* a damaged entry is no session */ }
  localStorage.removeItem(KEY);
  return null;
}

/** @param {Session} s */
export function save(s) {
  localStorage.setItem(KEY, JSON.stringify({ token: s.token, expires_at: s.expires_at, role: s.role }));
}

export function forget() {
  localStorage.removeItem(KEY);
  me = null;
}

/** Who is logged in (`GET /me`), once loaded. */
export let me = null;
export function setMe(m) { me = m; }

/** A preference kept across sessions (the queue's sound, for example). */
export function pref(name, fallback) {
  const v = localStorage.getItem('xhb.console.' + name);
  return v == null ? fallback : JSON.parse(v);
}
export function setPref(name, value) {
  localStorage.setItem('xhb.console.' + name, JSON.stringify(value));
}

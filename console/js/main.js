// The console's entry: who is logged in, the navigation their role may use, and a hash router
// (`#/queue`, `#/report/<id>`, …) that renders one view at a time into <main>.
import { api, whenSignedOut } from './api.js';
import { h, clear } from './dom.js';
import { t } from './i18n.js';
import * as session from './session.js';

document.documentElement.lang = t('html.lang');
document.title = t('app.title');
document.getElementById('brand-name').textContent = t('app.name');

/** Routes: path pattern → [module, roles]. Views export `render(root, params)`, which may return a cleanup. */
const ROUTES = [
  ['queue', () => import('./views/queue.js'), ['clerk', 'city_admin']],
  ['report/:id', () => import('./views/report.js'), ['clerk', 'city_admin']],
  ['figures', () => import('./views/figures.js'), ['clerk', 'city_admin']],
  ['places', () => import('./views/places.js'), ['station_manager']],
  ['pickup', () => import('./views/pickup.js'), ['station_manager']],
  ['admin/staff', () => import('./views/admin.js'), ['city_admin']],
  ['admin/units', () => import('./views/admin.js'), ['city_admin']],
  ['admin/categories', () => import('./views/admin.js'), ['city_admin']],
  ['admin/points', () => import('./views/admin.js'), ['city_admin']],
  ['admin/rewards', () => import('./views/admin.js'), ['city_admin']],
  ['admin/places', () => import('./views/admin_places.js'), ['city_admin']],
  ['admin/demand', () => import('./views/demand.js'), ['city_admin']],
  ['webhooks', () => import('./views/webhooks.js'), ['clerk', 'city_admin']],
];

/** The navigation each role sees: nothing it may not use. */
const NAV = {
  clerk: [['queue', 'nav.queue'], ['figures', 'nav.figures'], ['webhooks', 'nav.webhooks']],
  station_manager: [['places', 'nav.places'], ['pickup', 'nav.pickup']],
  city_admin: [
    ['queue', 'nav.queue'], ['figures', 'nav.figures'], ['admin/staff', 'nav.staff'], ['admin/units', 'nav.units'],
    ['admin/places', 'nav.adminPlaces'], ['admin/categories', 'nav.categories'], ['admin/points', 'nav.points'],
    ['admin/rewards', 'nav.rewards'], ['admin/demand', 'nav.demand'], ['webhooks', 'nav.webhooks'],
  ],
};
const HOME = { clerk: 'queue', station_manager: 'places', city_admin: 'queue' };

const app = document.getElementById('app');
const top = document.getElementById('top');
let cleanup = null;

function match(path) {
  for (const [pattern, load, roles] of ROUTES) {
    const keys = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, k) => { keys.push(k); return '([^/]+)'; }) + '$');
    const m = path.match(re);
    if (m) return { pattern, load, roles, params: Object.fromEntries(keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

function drawHeader(me) {
  const nav = document.getElementById('nav');
  clear(nav);
  for (const [path, key] of NAV[me.role] || []) nav.append(h('a', { href: '#/' + path, text: t(key), dataset: { path } }));
  const who = document.getElementById('who');
  clear(who).append(
    h('span', { text: `${me.display_name} · ${t('role.' + me.role)}` }),
    h('button', { type: 'button', text: t('nav.logout'), onclick: logout }),
  );
  top.hidden = false;
}

async function logout() {
  try { await api('POST', '/auth/logout'); } catch { /* the session may already be over */ }
  session.forget();
  location.hash = '#/login';
  route();
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* a view's own cleanup failing must not stop navigation */ } cleanup = null; }
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  if (!session.current()) {
    top.hidden = true;
    const { render } = await import('./views/login.js');
    clear(app);
    render(app, { onLogin: () => { location.hash = '#/'; route(); } });
    return;
  }
  if (!session.me) {
    try {
      session.setMe(await api('GET', '/me'));
    } catch (e) {
      if (!session.current()) return route();
      clear(app).append(h('p', { class: 'banner error', text: e.message }));
      return;
    }
  }
  const me = session.me;
  if (me.role === 'rider') { session.forget(); return route(); }
  drawHeader(me);
  const m = match(path);
  if (!m || !m.roles.includes(me.role)) {
    location.replace('#/' + HOME[me.role]);
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (path === a.dataset.path || path.startsWith(a.dataset.path + '/') || (m.pattern === 'report/:id' && a.dataset.path === 'queue')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(app).append(h('p', { class: 'loading', text: t('loading') }));
  try {
    const mod = await m.load();
    const root = h('div');
    const view = await mod.render(root, { ...m.params, path: m.pattern, me });
    clear(app).append(root);
    cleanup = typeof view === 'function' ? view : null;
  } catch (e) {
    clear(app).append(h('p', { class: 'banner error', text: e.message || String(e) }));
  }
}

whenSignedOut(() => { location.hash = '#/login'; route(); });
window.addEventListener('hashchange', route);
route();

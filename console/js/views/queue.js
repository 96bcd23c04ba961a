// The clerk's queue: overdue first, then by the deadline that falls next, with live countdowns,
// filters, and new reports appearing by polling every 10 s with a visible (and, if switched
// on, audible) cue.
import { api, categories, units } from '../api.js';
import { h, clear, fmtTime, fmtDuration } from '../dom.js';
import { field, select } from '../forms.js';
import { t, label } from '../i18n.js';
import { pref, setPref } from '../session.js';

const POLL_MS = 10000;
const STATUSES = ['submitted', 'accepted', 'in_progress', 'reopened', 'transferred', 'resolved', 'closed', 'rejected', 'duplicate'];

/** Live countdown text and class for a deadline. */
export function countdown(el, deadline, now = Date.now()) {
  if (!deadline) { el.textContent = '—'; el.className = 'countdown'; return; }
  const left = (Date.parse(deadline) - now) / 1000;
  el.textContent = left < 0 ? t('queue.overdueBy', { d: fmtDuration(-left) }) : fmtDuration(left);
  el.className = 'countdown' + (left < 0 ? ' overdue' : left < 3600 ? ' soon' : '');
}

/** A short beep through WebAudio (no audio file to fetch). */
function beep() {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.frequency.value = 880; g.gain.value = 0.15;
    o.connect(g).connect(ctx.destination);
    o.start(); o.stop(ctx.currentTime + 0.25);
    o.onended = () => ctx.close();
  } catch { /* no audio: the visible cue remains */ }
}

export async function render(root, { me }) {
  const cats = await categories();
  const isAdmin = me.role === 'city_admin';
  const unitList = isAdmin ? await units() : [];
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const filters = h('form', { class: 'card row', role: 'search' },
    field(t('queue.status'), select('status', [['', t('all')], ...STATUSES.map((s) => [s, label('status', s)])], params.get('status') || ''), { inline: true }),
    field(t('queue.category'), select('category', [['', t('all')], ...cats.list.map((c) => [c.code, c.name])], params.get('category') || ''), { inline: true }),
    isAdmin ? field(t('queue.unit'), select('office_id', [['', t('queue.wholeCity')], ...unitList.map((u) => [u.id, u.name])], params.get('office_id') || ''), { inline: true }) : null,
    field(t('queue.from'), h('input', { type: 'date', name: 'from', value: params.get('from') || '' }), { inline: true }),
    field(t('queue.to'), h('input', { type: 'date', name: 'to', value: params.get('to') || '' }), { inline: true }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'overdue', checked: params.get('overdue') === 'true' }), t('queue.overdueOnly')),
  );
  const sound = h('input', { type: 'checkbox', checked: pref('sound', false) });
  sound.addEventListener('change', () => setPref('sound', sound.checked));
  const banner = h('div', { class: 'banner new', role: 'status', 'aria-live': 'polite', hidden: true });
  const status = h('span', { class: 'hint' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', text: t('queue.more'), hidden: true });
  root.append(
    h('div', { class: 'row', style: 'justify-content: space-between; align-items: center' },
      h('h1', { text: t('queue.title') }),
      h('div', {}, h('label', { class: 'check' }, sound, t('queue.sound')), status)),
    filters, banner,
    h('div', { class: 'table-wrap' }, h('table', { id: 'queue' },
      h('thead', {}, h('tr', {}, [t('queue.deadline'), t('queue.category'), t('queue.description'), t('queue.status'), t('queue.metoo'), t('queue.filed'), t('queue.reporter')].map((c) => h('th', { text: c })))),
      tbody)),
    h('p', {}, more),
  );

  let seen = null; // ids already shown: what a poll finds beyond them is new
  let cursor = null;
  let rows = [];

  function query() {
    const f = filters.elements;
    const day = (v, end) => (v ? new Date(v + 'T00:00:00').getTime() + (end ? 86400000 : 0) : null);
    const from = day(f.from.value), to = day(f.to.value, true);
    return {
      status: f.status.value, category: f.category.value, overdue: f.overdue.checked ? 'true' : undefined,
      office_id: isAdmin ? f.office_id.value : undefined,
      from: from ? new Date(from).toISOString() : undefined, to: to ? new Date(to).toISOString() : undefined,
    };
  }

  function row(r, fresh) {
    const cd = h('span', { dataset: { deadline: r.next_deadline || '' } });
    countdown(cd, r.next_deadline);
    const tr = h('tr', { class: 'clickable' + (fresh ? ' fresh' : ''), dataset: { id: r.id }, tabindex: 0 },
      h('td', {}, cd),
      h('td', { text: cats.byCode[r.category]?.name || r.category }),
      h('td', { class: 'desc', text: r.description, title: r.description }),
      h('td', {}, h('span', { class: 'badge ' + r.status, text: label('status', r.status) })),
      h('td', { text: String(r.priority - 1) }),
      h('td', { text: fmtTime(r.created_at) }),
      h('td', { text: r.reporter_name || t('anonymous') }),
    );
    const open = () => { location.hash = '#/report/' + encodeURIComponent(r.id); };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    return tr;
  }

  async function load(reset) {
    const q = query();
    const page = await api('GET', '/triage/reports', { query: { ...q, limit: 50, cursor: reset ? undefined : cursor } });
    if (reset) { rows = []; clear(tbody); }
    rows.push(...page.items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const fresh = [];
    for (const r of page.items) {
      const isNew = seen !== null && !seen.has(r.id);
      if (isNew) fresh.push(r);
      tbody.append(row(r, isNew));
    }
    if (reset && rows.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'hint', text: t('queue.empty') })));
    seen = seen || new Set();
    for (const r of page.items) seen.add(r.id);
    status.textContent = ' ' + t('queue.updated', { time: new Date().toLocaleTimeString() });
    return fresh;
  }

  async function poll() {
    try {
      const fresh = await load(true);
      if (fresh.length) {
        banner.textContent = t('queue.newReports', { n: fresh.length });
        banner.hidden = false;
        if (sound.checked) beep();
        document.title = `(${fresh.length}) ` + t('app.title');
      }
    } catch (e) {
      status.textContent = ' ' + e.message;
    }
  }

  filters.addEventListener('change', () => {
    seen = null;
    banner.hidden = true;
    const q = Object.entries(query()).filter(([, v]) => v);
    const raw = new URLSearchParams();
    const f = filters.elements;
    for (const k of ['status', 'category', 'from', 'to']) if (f[k].value) raw.set(k, f[k].value);
    if (isAdmin && f.office_id.value) raw.set('office_id', f.office_id.value);
    if (f.overdue.checked) raw.set('overdue', 'true');
    history.replaceState(null, '', '#/queue' + (raw.toString() ? '?' + raw : ''));
    void q;
    load(true).catch((e) => { status.textContent = ' ' + e.message; });
  });
  banner.addEventListener('click', () => { banner.hidden = true; document.title = t('app.title'); });
  more.addEventListener('click', () => load(false).catch((e) => { status.textContent = ' ' + e.message; }));

  await load(true);
  const timer = setInterval(poll, POLL_MS);
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const el of tbody.querySelectorAll('[data-deadline]')) countdown(el, el.dataset.deadline || null, now);
  }, 1000);
  return () => { clearInterval(timer); clearInterval(ticker); document.title = t('app.title'); };
}

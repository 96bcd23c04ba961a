// The unit's figures for a period: response, resolution and satisfaction rates, median times,
// overdue count, a chart by week (reports filed and resolved, response rate), and the CSV export
// of the same reports.
import { api, units } from '../api.js';
import { h, s, clear, fmtDuration, fmtRate, fmtDate, isoDay, download } from '../dom.js';
import { field, formError, onSubmit, select } from '../forms.js';
import { t } from '../i18n.js';

const DAY = 86400000;

/** Monday 00:00 (local) of the week holding `d`. */
function monday(d) {
  const m = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  m.setDate(m.getDate() - ((m.getDay() + 6) % 7));
  return m;
}

/** Runs `fns` at most `n` at a time (an old office PC, a shared server). */
async function limited(fns, n) {
  const out = new Array(fns.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, async () => {
    while (next < fns.length) { const i = next++; out[i] = await fns[i](); }
  }));
  return out;
}

export async function render(root, { me }) {
  const isAdmin = me.role === 'city_admin';
  const unitList = isAdmin ? await units() : [];
  const end = new Date();
  const start = new Date(monday(end).getTime() - 7 * 7 * DAY);
  const form = h('form', { class: 'card row', novalidate: true },
    field(t('figures.from'), h('input', { type: 'date', name: 'from', value: isoDay(start), required: true }), { inline: true }),
    field(t('figures.to'), h('input', { type: 'date', name: 'to', value: isoDay(end), required: true }), { inline: true }),
    isAdmin ? field(t('queue.unit'), select('office_id', [['', t('queue.wholeCity')], ...unitList.map((u) => [u.id, u.name])]), { inline: true }) : null,
    h('div', { class: 'field inline' }, h('button', { class: 'primary', type: 'submit', text: t('figures.show') }), ' ',
      h('button', { type: 'button', id: 'csv', text: t('figures.csv') })),
    formError(),
  );
  const out = h('div', { id: 'figures' });
  root.append(h('h1', { text: t('figures.title') }), form, out);

  function range(f) {
    const from = new Date(f.elements.from.value + 'T00:00:00');
    const to = new Date(new Date(f.elements.to.value + 'T00:00:00').getTime() + DAY);
    if (isNaN(from) || isNaN(to)) throw Object.assign(new Error(t('form.required')), { details: { field: isNaN(from) ? 'from' : 'to' } });
    if (to <= from) throw Object.assign(new Error(t('figures.badRange')), { details: { field: 'to' } });
    return { from, to, office_id: isAdmin ? f.elements.office_id.value || undefined : undefined };
  }

  async function show(f) {
    const { from, to, office_id } = range(f);
    clear(out).append(h('p', { class: 'loading', text: t('loading') }));
    const q = { from: from.toISOString(), to: to.toISOString(), office_id };
    const weeks = [];
    for (let w = monday(from); w < to; w = new Date(w.getTime() + 7 * DAY)) {
      weeks.push({ start: w < from ? from : w, end: new Date(Math.min(w.getTime() + 7 * DAY, to.getTime())) });
    }
    const shown = weeks.slice(-26);
    const [total, overdue, perWeek] = await Promise.all([
      api('GET', '/triage/metrics', { query: q }),
      countOverdue(q),
      limited(shown.map((w) => () => api('GET', '/triage/metrics', { query: { ...q, from: w.start.toISOString(), to: w.end.toISOString() } })), 4),
    ]);
    clear(out).append(
      h('div', { class: 'tiles' },
        tile(t('figures.reports'), String(total.reports)),
        tile(t('figures.responseRate'), fmtRate(total.response_rate)),
        tile(t('figures.resolutionRate'), fmtRate(total.resolution_rate)),
        tile(t('figures.satisfactionRate'), fmtRate(total.satisfaction_rate), total.rated ? t('figures.rated', { n: total.rated }) : null),
        tile(t('figures.medianResponse'), fmtDuration(total.median_response_secs)),
        tile(t('figures.medianResolution'), fmtDuration(total.median_resolution_secs)),
        tile(t('figures.overdue'), String(overdue), null, 'overdue'),
      ),
      h('div', { class: 'card' }, h('h2', { text: t('figures.byWeek') }),
        chart(shown, perWeek),
        h('div', { class: 'legend' },
          h('span', {}, h('i', { style: 'background:#8fb3da' }), t('figures.reports')),
          h('span', {}, h('i', { style: 'background:#3f7f57' }), t('figures.resolved')),
          h('span', {}, h('i', { style: 'background:#c8352e' }), t('figures.responseRate'))),
        weekTable(shown, perWeek)),
      h('p', { class: 'hint', text: t('figures.definitions') }),
    );
  }

  onSubmit(form, show);
  form.querySelector('#csv').addEventListener('click', async () => {
    try {
      const { from, to, office_id } = range(form);
      const blob = await api('GET', '/triage/reports.csv', { query: { from: from.toISOString(), to: to.toISOString(), office_id }, accept: 'blob' });
      download(blob, `reports-${isoDay(from)}-${isoDay(new Date(to.getTime() - DAY))}.csv`);
    } catch (e) {
      const line = form.querySelector('.form-error');
      line.textContent = e.message; line.hidden = false;
    }
  });
  await show(form).catch((e) => { clear(out).append(h('p', { class: 'banner error', text: e.message })); });
}

/** Reports filed in the range whose next deadline has passed. */
async function countOverdue(q) {
  let n = 0, cursor;
  for (let i = 0; i < 50; i++) {
    const page = await api('GET', '/triage/reports', { query: { ...q, overdue: 'true', limit: 100, cursor } });
    n += page.items.length;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return n;
}

function tile(k, v, sub, id) {
  return h('div', { class: 'tile', dataset: { tile: id || '' } }, h('div', { class: 'v', text: v }), h('div', { class: 'k', text: k }), sub ? h('div', { class: 'hint', text: sub }) : null);
}

/** Bars: reports filed and resolved per week; line: the week's response rate. */
function chart(weeks, data) {
  const W = 720, H = 240, L = 36, R = 36, T = 12, B = 30;
  const max = Math.max(1, ...data.map((d) => d.reports));
  const bw = (W - L - R) / Math.max(1, weeks.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const yr = (r) => T + (H - T - B) * (1 - r);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('figures.byWeek') });
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  svg.append(s('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', text: String(max) }));
  svg.append(s('text', { x: W - R + 4, y: T + 8, text: '100%' }));
  const line = [];
  weeks.forEach((w, i) => {
    const d = data[i], x = L + i * bw;
    svg.append(s('rect', { x: x + bw * 0.12, y: y(d.reports), width: bw * 0.36, height: H - B - y(d.reports), class: 'bar-a' }, s('title', { text: `${fmtDate(w.start)}: ${d.reports}` })));
    svg.append(s('rect', { x: x + bw * 0.5, y: y(d.resolved), width: bw * 0.36, height: H - B - y(d.resolved), class: 'bar-b' }, s('title', { text: `${fmtDate(w.start)}: ${d.resolved}` })));
    if (d.response_rate != null) line.push(`${(x + bw / 2).toFixed(1)},${yr(d.response_rate).toFixed(1)}`);
    if (weeks.length <= 13 || i % 2 === 0) svg.append(s('text', { x: x + bw / 2, y: H - B + 16, 'text-anchor': 'middle', text: fmtDate(w.start) }));
  });
  if (line.length > 1) svg.append(s('polyline', { points: line.join(' '), class: 'line' }));
  for (const p of line) { const [cx, cy] = p.split(','); svg.append(s('circle', { cx, cy, r: 3, fill: '#c8352e' })); }
  return svg;
}

function weekTable(weeks, data) {
  return h('details', {}, h('summary', { text: t('figures.table') }), h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, [t('figures.week'), t('figures.reports'), t('figures.resolved'), t('figures.responseRate'), t('figures.resolutionRate'), t('figures.satisfactionRate')].map((c) => h('th', { text: c })))),
    h('tbody', {}, weeks.map((w, i) => h('tr', {},
      h('td', { text: fmtDate(w.start) }), h('td', { text: String(data[i].reports) }), h('td', { text: String(data[i].resolved) }),
      h('td', { text: fmtRate(data[i].response_rate) }), h('td', { text: fmtRate(data[i].resolution_rate) }), h('td', { text: fmtRate(data[i].satisfaction_rate) })))))));
}

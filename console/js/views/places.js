// A station manager's places, for a phone between other duties: today's status (open,
// temporarily closed until a time with a reason, full), amenities as toggles that save at once,
// weekly hours and holiday exceptions, and riders' recent check-ins with failures first.
import { api } from '../api.js';
import { h, clear, fmtTime, localInput } from '../dom.js';
import { field, formError, onSubmit, requireFilled, showError, clearErrors } from '../forms.js';
import { t, label } from '../i18n.js';

export const AMENITIES = ['drinking_water', 'hot_water', 'microwave', 'phone_charging', 'ebike_charging', 'battery_swap', 'toilet',
  'rest_seating', 'air_conditioning', 'heating', 'rain_shelter', 'wifi', 'first_aid', 'repair_kit', 'umbrella_lending', 'lockers',
  'union_service', 'legal_aid'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const FAILURES = ['amenity_broken', 'amenity_missing', 'closed', 'zone_full', 'entry_refused', 'not_found'];

export async function render(root) {
  const [places, checkins] = await Promise.all([
    api('GET', '/manager/places', { query: { limit: 100 } }).then((p) => p.items),
    api('GET', '/manager/checkins', { query: { limit: 100 } }).then((p) => p.items),
  ]);
  const names = Object.fromEntries(places.map((p) => [p.id, p.name]));
  root.append(h('h1', { text: t('places.title') }));
  if (!places.length) root.append(h('p', { class: 'hint', text: t('places.none') }));
  root.append(h('div', { class: 'places' }, places.map((p) => placeCard(p))));
  root.append(h('h2', { text: t('places.checkins') }), checkinList(checkins, names));
}

function placeCard(place) {
  const card = h('section', { class: 'card', dataset: { place: place.id } });
  const draw = () => {
    clear(card).append(
      h('div', { class: 'row', style: 'justify-content: space-between' },
        h('h2', { style: 'margin:0', text: place.name }),
        h('span', { class: 'badge ' + place.status, dataset: { role: 'status' }, text: label('placeStatus', place.status) })),
      h('p', { class: 'hint', text: `${label('kind', place.kind)} · ${place.address} · ${place.open_now ? t('places.openNow') : t('places.closedNow')}` }),
      place.status === 'temporarily_closed'
        ? h('p', { class: 'banner error', text: t('places.closedUntil', { until: place.status_until ? fmtTime(place.status_until) : t('places.furtherNotice'), reason: place.status_reason || '' }) })
        : null,
      statusForm(place, (p) => { place = p; draw(); }),
      h('h3', { text: t('places.amenities') }),
      amenityToggles(place, (p) => { place = p; }),
      h('details', {}, h('summary', { text: `${t('places.hours')}: ${place.hours}` }), hoursForm(place, (p) => { place = p; draw(); })),
    );
  };
  draw();
  return card;
}

function statusForm(place, done) {
  const choices = ['open', 'temporarily_closed', ...(place.kind === 'parking_zone' ? ['full'] : [])];
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(8, 0, 0, 0);
  const reason = field(t('places.reason'), h('input', { name: 'status_reason', maxlength: 200, value: place.status_reason || '' }));
  const until = field(t('places.until'), h('input', { type: 'datetime-local', name: 'status_until', value: localInput(place.status_until ? new Date(place.status_until) : tomorrow) }), { hint: t('places.untilHint') });
  const form = h('form', { class: 'status-form', novalidate: true },
    h('div', { class: 'field', dataset: { field: 'status' } },
      choices.map((c) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'status', value: c, checked: place.status === c }), label('placeStatus', c))),
      h('p', { class: 'err', hidden: true })),
    reason, until, formError(),
    h('button', { class: 'primary', type: 'submit', text: t('places.saveStatus') }));
  const sync = () => {
    const closed = form.elements.status.value === 'temporarily_closed';
    reason.hidden = !closed; until.hidden = !closed;
  };
  form.addEventListener('change', sync);
  sync();
  onSubmit(form, async (f) => {
    const status = f.elements.status.value;
    const body = { status };
    if (status === 'temporarily_closed') {
      if (!requireFilled(f, ['status_reason'])) return;
      body.status_reason = f.elements.status_reason.value.trim();
      if (f.elements.status_until.value) body.status_until = new Date(f.elements.status_until.value).toISOString();
    }
    done(await api('PATCH', '/places/' + encodeURIComponent(place.id), { json: body }));
  });
  return form;
}

function amenityToggles(place, done) {
  const box = h('div', { class: 'amenities' });
  const err = h('p', { class: 'form-error', hidden: true });
  for (const a of AMENITIES) {
    const input = h('input', { type: 'checkbox', name: 'amenity', value: a, checked: place.amenities.includes(a) });
    input.addEventListener('change', async () => {
      err.hidden = true;
      const chosen = [...box.querySelectorAll('input:checked')].map((i) => i.value);
      input.disabled = true;
      try {
        place = await api('PATCH', '/places/' + encodeURIComponent(place.id), { json: { amenities: chosen } });
        done(place);
      } catch (e) {
        input.checked = !input.checked;
        err.textContent = e.message; err.hidden = false;
      } finally {
        input.disabled = false;
      }
    });
    box.append(h('label', { class: 'toggle' }, input, label('amenity', a)));
  }
  return h('div', {}, box, err);
}

/** Reads the hours grammar into a week of single spans and date exceptions; null if it holds more. */
export function parseHours(textValue) {
  const week = DAYS.map(() => 'closed');
  const exceptions = [];
  const src = textValue.trim();
  if (src === '24/7') return { week: DAYS.map(() => '24h'), exceptions };
  for (const raw of src.split(';').map((c) => c.trim()).filter(Boolean)) {
    const m = raw.match(/^(\S+)\s+(.+)$/);
    if (!m) return null;
    const [, who, what] = m;
    const value = what.trim();
    if (!/^(closed|24h|\d{2}:\d{2}-\d{2}:\d{2})$/.test(value)) return null;
    if (/^\d{4}-\d{2}-\d{2}$/.test(who)) { exceptions.push({ date: who, value }); continue; }
    for (const part of who.split(',')) {
      const [a, b] = part.split('-');
      const i = DAYS.indexOf(a), j = b ? DAYS.indexOf(b) : i;
      if (i < 0 || j < 0) return null;
      for (let k = i; ; k = (k + 1) % 7) { week[k] = value; if (k === j) break; }
    }
  }
  return { week, exceptions };
}

/** Writes a week and exceptions in the hours grammar, runs of equal days as ranges. */
export function writeHours({ week, exceptions }) {
  if (week.every((v) => v === '24h') && !exceptions.length) return '24/7';
  const clauses = [];
  for (let i = 0; i < 7;) {
    let j = i;
    while (j + 1 < 7 && week[j + 1] === week[i]) j++;
    if (week[i] !== 'closed') clauses.push(`${DAYS[i]}${j > i ? '-' + DAYS[j] : ''} ${week[i]}`);
    i = j + 1;
  }
  for (const e of exceptions) clauses.push(`${e.date} ${e.value}`);
  return clauses.join('; ');
}

function hoursForm(place, done) {
  const textArea = h('textarea', { name: 'hours', maxlength: 2000, value: place.hours, rows: 2 });
  const form = h('form', { class: 'hours-form', novalidate: true });
  const model = parseHours(place.hours);
  const editor = h('div', {});
  const regenerate = () => { textArea.value = writeHours(read()); };
  function dayControls(value) {
    const mode = value === 'closed' ? 'closed' : value === '24h' ? '24h' : 'span';
    const [from, to] = mode === 'span' ? value.split('-') : ['08:00', '20:00'];
    return h('span', {},
      h('select', { name: 'mode' }, ['span', '24h', 'closed'].map((m) => h('option', { value: m, selected: m === mode, text: t('hours.' + m) }))), ' ',
      h('input', { type: 'time', name: 'from', value: from, disabled: mode !== 'span' }), '–',
      h('input', { type: 'time', name: 'to', value: to === '24:00' ? '00:00' : to, disabled: mode !== 'span' }));
  }
  function valueOf(row) {
    const mode = row.querySelector('[name=mode]').value;
    row.querySelectorAll('input[type=time]').forEach((i) => (i.disabled = mode !== 'span'));
    if (mode !== 'span') return mode;
    return `${row.querySelector('[name=from]').value}-${row.querySelector('[name=to]').value}`;
  }
  const exceptionRows = h('tbody', {});
  function exceptionRow(e) {
    const tr = h('tr', { class: 'exception' },
      h('td', {}, h('input', { type: 'date', name: 'date', value: e.date })),
      h('td', {}, dayControls(e.value)),
      h('td', {}, h('button', { type: 'button', class: 'link', text: t('hours.remove'), onclick: () => { tr.remove(); regenerate(); } })));
    return tr;
  }
  function read() {
    return {
      week: [...editor.querySelectorAll('tr.day')].map(valueOf),
      exceptions: [...exceptionRows.querySelectorAll('tr.exception')].map((r) => ({ date: r.querySelector('[name=date]').value, value: valueOf(r) })).filter((e) => e.date),
    };
  }
  if (model) {
    editor.append(
      h('table', { class: 'hours' }, h('tbody', {}, DAYS.map((d, i) => h('tr', { class: 'day' }, h('th', { text: label('day', d) }), h('td', {}, dayControls(model.week[i])))))),
      h('h3', { text: t('hours.exceptions') }),
      h('table', { class: 'hours' }, exceptionRows),
      h('button', { type: 'button', text: t('hours.addException'), onclick: () => { exceptionRows.append(exceptionRow({ date: '', value: 'closed' })); } }),
    );
    for (const e of model.exceptions) exceptionRows.append(exceptionRow(e));
    editor.addEventListener('change', regenerate);
  } else {
    editor.append(h('p', { class: 'hint', text: t('hours.textOnly') }));
  }
  form.append(editor, field(t('hours.text'), textArea, { hint: t('hours.grammar') }), formError(), h('button', { class: 'primary', type: 'submit', text: t('hours.save') }));
  onSubmit(form, async (f) => {
    if (!requireFilled(f, ['hours'])) return;
    done(await api('PATCH', '/places/' + encodeURIComponent(place.id), { json: { hours: f.elements.hours.value.trim() } }));
  });
  void clearErrors; void showError;
  return form;
}

function checkinList(items, names) {
  if (!items.length) return h('p', { class: 'hint', text: t('places.noCheckins') });
  const sorted = [...items].sort((a, b) => (a.success === b.success ? 0 : a.success ? 1 : -1));
  return h('div', { class: 'table-wrap' }, h('table', { id: 'checkins' },
    h('thead', {}, h('tr', {}, [t('places.when'), t('places.place'), t('places.outcome'), t('places.note')].map((c) => h('th', { text: c })))),
    h('tbody', {}, sorted.map((c) => h('tr', { class: c.success ? '' : 'failure', dataset: { success: String(c.success) } },
      h('td', { text: fmtTime(c.created_at) }),
      h('td', { text: names[c.place_id] || c.place_id }),
      h('td', {}, h('span', { class: 'badge ' + (FAILURES.includes(c.outcome) ? 'rejected' : 'open'), text: label('outcome', c.outcome) }), c.amenity ? ' ' + label('amenity', c.amenity) : ''),
      h('td', { class: 'note', text: c.note || '' }))))));
}

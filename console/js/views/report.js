// One report: what the rider wrote (as text only), photos (full size on click), the place on a
// small offline map of the unit's jurisdiction, nearby open reports of the same category, the
// "me too" count, the whole timeline, and the actions the report's status allows.
import { api, categories, units, unitOutline, upload } from '../api.js';
import { h, clear, fmtTime, distanceM } from '../dom.js';
import { field, formError, onSubmit, requireFilled, select, text } from '../forms.js';
import { t, label } from '../i18n.js';
import { drawMap } from '../map.js';
import { countdown } from './queue.js';

/** Open statuses: those a unit still works on. */
const OPEN = ['submitted', 'accepted', 'in_progress', 'transferred', 'reopened'];

/**
 * The staff actions each status allows: the API's lifecycle (`domain::report::transition`),
 * mirrored so that a step the report cannot take is never offered. The API still refuses one.
 */
export const ALLOWED = {
  submitted: ['accept', 'reject', 'mark_duplicate', 'transfer'],
  transferred: ['accept', 'reject', 'mark_duplicate', 'transfer'],
  accepted: ['start', 'resolve', 'reject', 'mark_duplicate', 'transfer'],
  in_progress: ['resolve', 'transfer'],
  reopened: ['accept', 'start', 'resolve', 'reject', 'mark_duplicate', 'transfer'],
  resolved: [], closed: [], rejected: [], duplicate: [],
};

/** How far away an open report of the same category counts as nearby. */
const NEARBY_M = 1000;

export async function render(root, { id, me }) {
  const cats = await categories();
  let report = await api('GET', '/triage/reports/' + encodeURIComponent(id));
  const [outline, nearby, colleagues] = await Promise.all([
    unitOutline(me.role === 'city_admin' ? report.unit.id : undefined).catch(() => null),
    findNearby(report),
    api('GET', '/triage/colleagues', { query: { office_id: me.role === 'city_admin' ? report.unit.id : undefined } }).then((r) => r.items).catch(() => []),
  ]);
  const ticker = { timer: null };

  function draw() {
    clear(root);
    const r = report;
    const cd = h('span', {});
    countdown(cd, r.next_deadline);
    clearInterval(ticker.timer);
    ticker.timer = setInterval(() => countdown(cd, r.next_deadline), 1000);
    const assignee = colleagues.find((c) => c.id === r.assignee_id);
    const left = h('div', {},
      h('div', { class: 'card' },
        h('div', { class: 'row', style: 'justify-content: space-between' },
          h('h1', { text: cats.byCode[r.category]?.name || r.category }),
          h('span', { class: 'badge ' + r.status, id: 'report-status', text: label('status', r.status) })),
        h('p', { class: 'description', id: 'report-description', text: r.description || t('report.noDescription') }),
        h('dl', { class: 'facts' },
          h('dt', { text: t('report.deadline') }), h('dd', {}, cd),
          h('dt', { text: t('report.respondBy') }), h('dd', { text: fmtTime(r.respond_by) }),
          h('dt', { text: t('report.resolveBy') }), h('dd', { text: fmtTime(r.resolve_by) }),
          h('dt', { text: t('report.filed') }), h('dd', { text: fmtTime(r.created_at) }),
          h('dt', { text: t('report.metoo') }), h('dd', { id: 'report-metoo', text: String(r.priority - 1) }),
          h('dt', { text: t('report.reporter') }), h('dd', { text: r.reporter_name || t('anonymous') }),
          h('dt', { text: t('report.unit') }), h('dd', { text: `${r.unit.name} · ${label('route', r.route_reason)}` }),
          h('dt', { text: t('report.assignee') }), h('dd', { text: assignee ? assignee.display_name : (r.assignee_id ? r.assignee_id : '—') }),
          r.duplicate_of ? [h('dt', { text: t('report.duplicateOf') }), h('dd', {}, h('a', { href: '#/report/' + encodeURIComponent(r.duplicate_of), text: r.duplicate_of }))] : null,
          r.rating ? [h('dt', { text: t('report.rating') }), h('dd', { text: `${r.rating}/5 ${r.rating_comment || ''}` })] : null,
        ),
        photos(r.photo_urls),
      ),
      actionsCard(r),
      h('div', { class: 'card' }, h('h2', { text: t('report.timeline') }), timeline(r.timeline)),
    );
    const right = h('div', {},
      h('div', { class: 'card' }, h('h2', { text: t('report.map') }), map(r), h('p', { class: 'hint', text: `${r.location.lat.toFixed(5)}, ${r.location.lng.toFixed(5)} (GCJ-02)` })),
      h('div', { class: 'card' }, h('h2', { text: t('report.nearby', { m: NEARBY_M }) }), nearbyList()),
    );
    root.append(h('p', {}, h('a', { href: '#/queue', text: '← ' + t('nav.queue') })), h('div', { class: 'grid2' }, left, right));
  }

  function map(r) {
    const outlines = outline && outline.jurisdiction ? [{ geometry: outline.jurisdiction, label: outline.name }] : [];
    const points = [
      ...nearby.map((n) => ({ lat: n.location.lat, lng: n.location.lng, cls: 'near', r: 4, title: cats.byCode[n.category]?.name })),
      { lat: r.location.lat, lng: r.location.lng, cls: 'here', title: t('report.here') },
    ];
    return drawMap({ outlines, points, width: 420, label: t('report.map') });
  }

  function nearbyList() {
    if (!nearby.length) return h('p', { class: 'hint', text: t('report.noNearby') });
    return h('ul', { id: 'nearby' }, nearby.map((n) => h('li', {},
      h('a', { href: '#/report/' + encodeURIComponent(n.id), text: `${Math.round(n.distance)} m · ${label('status', n.status)} · ${fmtTime(n.created_at)}` }),
      h('div', { class: 'hint desc', text: n.description }))));
  }

  function actionsCard(r) {
    const allowed = ALLOWED[r.status] || [];
    const panel = h('div', {});
    const buttons = [
      ...allowed.map((a) => [a, t('action.' + a)]),
      ...(OPEN.includes(r.status) && colleagues.length ? [['assign', t('action.assign')]] : []),
      ['reply', t('action.reply')],
      ['note', t('action.note')],
    ].map(([a, l]) => h('button', { type: 'button', text: l, dataset: { action: a }, class: a === 'accept' || a === 'resolve' ? 'primary' : a === 'reject' ? 'danger' : '' }));
    for (const b of buttons) {
      b.addEventListener('click', () => {
        for (const o of buttons) o.setAttribute('aria-pressed', String(o === b));
        clear(panel).append(actionForm(b.dataset.action));
        panel.querySelector('textarea, select, input')?.focus();
      });
    }
    return h('div', { class: 'card' }, h('h2', { text: t('report.actions') }), h('div', { class: 'actions' }, buttons), panel);
  }

  function notes(publicRequired) {
    return [
      field(t(publicRequired ? 'form.publicNoteRequired' : 'form.publicNote'), h('textarea', { name: 'public_note', maxlength: 500 }), { hint: t('form.publicNoteHint') }),
      field(t('form.internalNote'), h('textarea', { name: 'internal_note', maxlength: 500 }), { hint: t('form.internalNoteHint') }),
    ];
  }

  function actionForm(action) {
    const form = h('form', { class: 'action-form', novalidate: true, dataset: { action } });
    const submit = h('button', { class: 'primary', type: 'submit', text: t('action.' + action) });
    let photoIds = [];
    switch (action) {
      case 'accept': case 'start':
        form.append(...notes(false));
        break;
      case 'resolve': {
        const list = h('div', { class: 'photos' });
        const input = h('input', { type: 'file', name: 'media_ids', accept: 'image/jpeg,image/png,image/webp', multiple: true });
        input.addEventListener('change', async () => {
          const spot = input.closest('.field');
          spot.classList.remove('invalid');
          spot.querySelector('.err').hidden = true;
          submit.disabled = true;
          try {
            for (const file of input.files) {
              if (photoIds.length >= 9) break;
              const media = await upload(file);
              photoIds.push(media.id);
              list.append(h('img', { src: URL.createObjectURL(file), alt: file.name, width: 96, height: 96 }));
            }
          } catch (e) {
            spot.classList.add('invalid');
            const err = spot.querySelector('.err');
            err.textContent = e.message; err.hidden = false;
          } finally {
            submit.disabled = false;
            input.value = '';
          }
        });
        form.append(...notes(true), field(t('form.photos'), input, { hint: t('form.photosHint') }), list);
        break;
      }
      case 'reject':
        form.append(field(t('form.reasonRequired'), h('textarea', { name: 'reason', maxlength: 500, required: true })), ...notes(false).slice(1));
        break;
      case 'mark_duplicate': {
        const choices = nearby.filter((n) => n.id !== report.id);
        if (!choices.length) {
          form.append(h('p', { class: 'hint', text: t('report.noDuplicateTarget') }));
          return form;
        }
        form.append(
          field(t('form.duplicateOf'), select('duplicate_of', [['', t('form.choose')], ...choices.map((n) => [n.id, `${Math.round(n.distance)} m · ${fmtTime(n.created_at)} · ${n.description.slice(0, 40)}`])])),
          ...notes(false),
        );
        break;
      }
      case 'transfer': {
        const sel = select('to_office_id', [['', t('form.reroute')]]);
        units().then((us) => { for (const u of us) if (u.id !== report.unit.id) sel.append(h('option', { value: u.id, text: `${u.name} · ${label('unitKind', u.kind)}` })); }).catch(() => {});
        form.append(field(t('form.transferTo'), sel), field(t('form.reasonRequired'), h('textarea', { name: 'reason', maxlength: 500, required: true })), ...notes(false).slice(1));
        break;
      }
      case 'assign':
        form.append(field(t('form.assignee'), select('assignee_id', [['', t('form.choose')], ...colleagues.map((c) => [c.id, c.display_name])], report.assignee_id || '')));
        break;
      case 'reply':
        form.append(field(t('form.replyRequired'), h('textarea', { name: 'public_note', maxlength: 500, required: true }), { hint: t('form.publicNoteHint') }));
        break;
      case 'note':
        form.append(field(t('form.noteRequired'), h('textarea', { name: 'internal_note', maxlength: 500, required: true }), { hint: t('form.internalNoteHint') }));
        break;
    }
    form.append(formError(), submit);
    onSubmit(form, async (f) => {
      const required = { resolve: ['public_note'], reject: ['reason'], transfer: ['reason'], mark_duplicate: ['duplicate_of'], assign: ['assignee_id'], reply: ['public_note'], note: ['internal_note'] }[action] || [];
      if (!requireFilled(f, required)) return;
      const id = encodeURIComponent(report.id);
      const body = { public_note: text(f, 'public_note'), internal_note: text(f, 'internal_note') };
      if (action === 'assign') {
        report = await api('POST', `/triage/reports/${id}/assign`, { json: { assignee_id: f.elements.assignee_id.value } });
      } else if (action === 'reply' || action === 'note') {
        report = await api('POST', `/triage/reports/${id}/notes`, { json: body });
      } else {
        const json = { action, ...body };
        if (action === 'reject' || action === 'transfer') json.reason = text(f, 'reason');
        if (action === 'transfer' && f.elements.to_office_id.value) json.to_office_id = f.elements.to_office_id.value;
        if (action === 'mark_duplicate') json.duplicate_of = f.elements.duplicate_of.value;
        if (action === 'resolve' && photoIds.length) json.media_ids = photoIds;
        report = await api('POST', `/triage/reports/${id}/actions`, { json });
      }
      draw();
      root.prepend(h('p', { class: 'banner ok', role: 'status', text: t('report.done', { action: t('action.' + action) }) }));
    });
    return form;
  }

  draw();
  return () => clearInterval(ticker.timer);
}

/** Open reports of the same category in the unit's queue within `NEARBY_M`, nearest first. */
async function findNearby(r) {
  try {
    const page = await api('GET', '/triage/reports', { query: { category: r.category, limit: 100, office_id: r.unit.id } });
    return page.items
      .filter((n) => n.id !== r.id && OPEN.includes(n.status))
      .map((n) => ({ ...n, distance: distanceM(r.location, n.location) }))
      .filter((n) => n.distance <= NEARBY_M)
      .sort((a, b) => a.distance - b.distance)
      .slice(0, 20);
  } catch {
    return [];
  }
}

function photos(urls) {
  if (!urls || !urls.length) return h('p', { class: 'hint', text: t('report.noPhotos') });
  return h('div', { class: 'photos' }, urls.map((p) => h('button', {
    type: 'button', title: t('report.fullSize'),
    onclick: () => lightbox(p.url),
  }, h('img', { src: p.url, alt: t('report.photo'), loading: 'lazy' }))));
}

function lightbox(url) {
  const dialog = h('dialog', { class: 'lightbox' },
    h('img', { src: url, alt: t('report.photo') }),
    h('button', { type: 'button', text: '✕', 'aria-label': t('close'), onclick: () => dialog.close() }));
  dialog.addEventListener('close', () => dialog.remove());
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  document.body.append(dialog);
  dialog.showModal();
}

function timeline(entries) {
  return h('ol', { class: 'timeline', id: 'timeline' }, entries.map((e) => h('li', { dataset: { kind: e.kind } },
    h('div', {},
      h('strong', { text: label('event', e.kind) }), ' ',
      h('span', { class: 'when', text: `${fmtTime(e.at)} · ${label('actor', e.actor_role)}${e.unit ? ' · ' + e.unit.name : ''}` })),
    e.public_note ? h('div', { class: 'note', text: e.public_note }) : null,
    e.internal_note ? h('div', { class: 'internal', text: t('report.internal') + ': ' + e.internal_note }) : null,
  )));
}

// Places for city admins: import a CSV or GeoJSON file (all or nothing; the rows at fault are
// listed by line or feature with the field and the reason), export, name managers, remove.
import { all, allPlaces, api } from '../api.js';
import { h, clear, download } from '../dom.js';
import { field, formError, onSubmit, showError } from '../forms.js';
import { t, label } from '../i18n.js';

export async function render(root) {
  const errors = h('div', { id: 'import-errors' });
  const result = h('div', { role: 'status' });
  const form = h('form', { class: 'card', novalidate: true, id: 'import' },
    h('h2', { text: t('places.import') }),
    field(t('places.file'), h('input', { type: 'file', name: 'file', accept: '.csv,.geojson,.json,text/csv,application/geo+json' }), { hint: t('places.fileHint') }),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('places.importButton') }));
  onSubmit(form, async (f) => {
    clear(errors); clear(result);
    const file = f.elements.file.files[0];
    if (!file) return showError(f, { message: t('form.required') }, 'file');
    const geo = /\.(geo)?json$/i.test(file.name);
    try {
      const r = await api('POST', '/admin/places/import', { body: await file.text(), type: geo ? 'application/geo+json' : 'text/csv' });
      result.append(h('p', { class: 'banner ok', text: t('places.imported', { n: r.created }) }));
      f.reset();
      await list.redraw();
    } catch (e) {
      if (e.details && Array.isArray(e.details.errors)) {
        errors.append(h('p', { class: 'banner error', text: e.message }), h('table', { class: 'errors-table' },
          h('thead', {}, h('tr', {}, [geo ? t('places.feature') : t('places.line'), t('places.field'), t('places.reason')].map((c) => h('th', { text: c })))),
          h('tbody', {}, e.details.errors.map((x) => h('tr', {},
            h('td', { text: x.line != null ? t('places.lineN', { n: x.line }) : t('places.featureN', { n: x.feature }) }),
            h('td', { text: x.field || '' }), h('td', { text: x.reason || '' }))))));
      } else {
        throw e;
      }
    }
  });
  const exports = h('div', { class: 'card' }, h('h2', { text: t('places.export') }),
    ['csv', 'geojson'].map((format) => h('button', { type: 'button', text: format.toUpperCase(), onclick: async () => {
      const blob = await api('GET', '/admin/places/export', { query: { format }, accept: 'blob' });
      download(blob, `places.${format}`);
    } })));

  const managers = (await all('/admin/staff')).filter((s) => s.role === 'station_manager' && !s.disabled);
  const list = {
    el: h('section', { class: 'card' }),
    async redraw() {
      const places = await allPlaces();
      clear(this.el).append(h('h2', { text: t('places.list', { n: places.length }) }), h('div', { class: 'table-wrap' }, h('table', { id: 'place-list' },
        h('thead', {}, h('tr', {}, [t('places.place'), t('places.kind'), t('places.status'), t('places.managers'), ''].map((c) => h('th', { text: c })))),
        h('tbody', {}, places.map((p) => h('tr', { dataset: { id: p.id } },
          h('td', { text: `${p.name} · ${p.address}` }), h('td', { text: label('kind', p.kind) }),
          h('td', {}, h('span', { class: 'badge ' + p.status, text: label('placeStatus', p.status) })),
          h('td', {}, managersForm(p, managers)),
          h('td', {}, h('button', { type: 'button', class: 'danger', text: t('places.remove'), onclick: async (ev) => {
            if (!confirm(t('places.confirmRemove', { name: p.name }))) return;
            try { await api('DELETE', `/admin/places/${encodeURIComponent(p.id)}`); await list.redraw(); } catch (e) { ev.target.after(h('p', { class: 'form-error', text: e.message })); }
          } }))))))));
    },
  };
  root.append(h('h1', { text: t('nav.adminPlaces') }), form, errors, result, exports, list.el);
  await list.redraw();
}

/** A button that loads the place's managers and opens a form to change them (nothing is sent unread). */
function managersForm(place, managers) {
  if (!managers.length) return h('span', { class: 'hint', text: t('places.noManagers') });
  const box = h('div', {});
  const open = h('button', { type: 'button', text: t('places.editManagers'), dataset: { action: 'managers' } });
  open.addEventListener('click', async () => {
    open.disabled = true;
    try {
      const current = (await api('GET', `/admin/places/${encodeURIComponent(place.id)}/managers`)).account_ids;
      const form = h('form', { class: 'row', novalidate: true },
        h('div', { class: 'field', dataset: { field: 'account_ids' } },
          managers.map((m) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'account_ids', value: m.id, checked: current.includes(m.id) }), m.display_name)),
          h('p', { class: 'err', hidden: true })),
        formError(), h('button', { type: 'submit', text: t('admin.save') }), h('span', { class: 'hint saved' }));
      onSubmit(form, async (f) => {
        const ids = [...f.querySelectorAll('input[name=account_ids]:checked')].map((i) => i.value);
        await api('PUT', `/admin/places/${encodeURIComponent(place.id)}/managers`, { json: { account_ids: ids } });
        f.querySelector('.saved').textContent = ' ' + t('admin.saved');
      });
      clear(box).append(form);
    } catch (e) {
      clear(box).append(h('p', { class: 'form-error', text: e.message }));
      open.disabled = false;
    }
  });
  box.append(open);
  return box;
}

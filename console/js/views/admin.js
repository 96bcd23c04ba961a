// City administration, enough to run a city without the API: staff accounts, units and their
// jurisdictions (GeoJSON), report categories and their deadlines, point rules, and rewards.
import { all, allPlaces, api, upload } from '../api.js';
import { h, clear, fmtTime, localInput } from '../dom.js';
import { field, formError, onSubmit, requireFilled, select, text, showError, clearErrors } from '../forms.js';
import { t, label } from '../i18n.js';
import { drawMap } from '../map.js';

export async function render(root, { path }) {
  const views = { 'admin/staff': staffView, 'admin/units': unitsView, 'admin/categories': categoriesView, 'admin/points': pointsView, 'admin/rewards': rewardsView };
  await views[path](root);
}

/** Refreshes a section: `fill(box)` draws it again after a change. */
function section(title, fill) {
  const box = h('div', {});
  const redraw = async () => { clear(box).append(h('p', { class: 'loading', text: t('loading') })); const out = await fill(redraw); clear(box).append(out); };
  return { el: h('section', { class: 'card' }, h('h2', { text: title }), box), redraw };
}

// ---- Staff accounts ---------------------------------------------------------------------------

async function staffView(root) {
  const units = await all('/admin/units');
  const unitName = Object.fromEntries(units.map((u) => [u.id, u.name]));
  const list = section(t('admin.staffList'), async (redraw) => {
    const staff = await all('/admin/staff');
    return h('div', { class: 'table-wrap' }, h('table', { id: 'staff' },
      h('thead', {}, h('tr', {}, [t('admin.username'), t('admin.displayName'), t('admin.role'), t('admin.unit'), t('admin.created'), ''].map((c) => h('th', { text: c })))),
      h('tbody', {}, staff.map((s) => h('tr', { dataset: { id: s.id } },
        h('td', { text: s.username }), h('td', { text: s.display_name }), h('td', { text: t('role.' + s.role) }),
        h('td', { text: s.office_id ? unitName[s.office_id] || s.office_id : '—' }), h('td', { text: fmtTime(s.created_at) }),
        h('td', {}, h('button', {
          type: 'button', class: s.disabled ? '' : 'danger', text: s.disabled ? t('admin.enable') : t('admin.disable'),
          onclick: async (ev) => {
            ev.target.disabled = true;
            try { await api('POST', `/admin/staff/${encodeURIComponent(s.id)}/${s.disabled ? 'enable' : 'disable'}`); await redraw(); } catch (e) { alertIn(ev.target, e); }
          },
        }), s.disabled ? h('span', { class: 'badge rejected', text: t('admin.disabled') }) : null))))));
  });
  const office = field(t('admin.unit'), select('office_id', [['', t('form.choose')], ...units.map((u) => [u.id, u.name])]));
  const form = h('form', { class: 'card', novalidate: true, id: 'new-staff' },
    h('h2', { text: t('admin.newStaff') }),
    field(t('admin.role'), select('role', [['clerk', t('role.clerk')], ['station_manager', t('role.station_manager')], ['city_admin', t('role.city_admin')]])),
    office,
    field(t('admin.username'), h('input', { name: 'username', maxlength: 64, autocomplete: 'off' })),
    field(t('admin.displayName'), h('input', { name: 'display_name', maxlength: 64 })),
    field(t('admin.password'), h('input', { name: 'password', type: 'password', maxlength: 128, autocomplete: 'new-password' }), { hint: t('admin.passwordHint') }),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.create') }));
  form.elements.role.addEventListener('change', () => { office.hidden = form.elements.role.value !== 'clerk'; });
  onSubmit(form, async (f) => {
    const role = f.elements.role.value;
    if (!requireFilled(f, ['username', 'display_name', 'password', ...(role === 'clerk' ? ['office_id'] : [])])) return;
    const body = { role, username: f.elements.username.value.trim(), display_name: f.elements.display_name.value.trim(), password: f.elements.password.value };
    if (role === 'clerk') body.office_id = f.elements.office_id.value;
    await api('POST', '/admin/staff', { json: body });
    f.reset();
    await list.redraw();
  });
  root.append(h('h1', { text: t('nav.staff') }), form, list.el);
  await list.redraw();
}

function alertIn(el, e) {
  const p = h('p', { class: 'form-error', text: e.message });
  el.after(p);
  setTimeout(() => p.remove(), 6000);
}

// ---- Units and jurisdictions ------------------------------------------------------------------

async function unitsView(root) {
  const list = section(t('admin.unitList'), async (redraw) => {
    const units = await all('/admin/units');
    const outlines = await Promise.all(units.map((u) => api('GET', '/triage/unit', { query: { office_id: u.id } }).catch(() => null)));
    const shapes = outlines.filter((o) => o && o.jurisdiction).map((o) => ({ geometry: o.jurisdiction, title: o.name, label: o.kind === 'street_office' ? o.name : undefined, cls: o.kind === 'street_office' ? '' : 'other' }));
    return h('div', {},
      shapes.length ? drawMap({ outlines: shapes, width: 640, label: t('admin.unitList') }) : null,
      h('div', { class: 'table-wrap' }, h('table', { id: 'units' },
        h('thead', {}, h('tr', {}, [t('admin.unitName'), t('admin.unitKind'), t('admin.jurisdiction'), t('admin.importJurisdiction')].map((c) => h('th', { text: c })))),
        h('tbody', {}, units.map((u, i) => h('tr', { dataset: { id: u.id } },
          h('td', { text: u.name }), h('td', { text: label('unitKind', u.kind) }),
          h('td', { text: outlines[i] && outlines[i].jurisdiction ? t('admin.hasJurisdiction') : '—' }),
          h('td', {}, jurisdictionForm(u, redraw))))))));
  });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: t('admin.newUnit') }),
    h('div', { class: 'row' },
      field(t('admin.unitKind'), select('kind', ['street_office', 'department', 'fallback'].map((k) => [k, label('unitKind', k)])), { inline: true }),
      field(t('admin.unitName'), h('input', { name: 'name', maxlength: 64 }), { inline: true })),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.create') }));
  onSubmit(form, async (f) => {
    if (!requireFilled(f, ['name'])) return;
    await api('POST', '/admin/units', { json: { kind: f.elements.kind.value, name: f.elements.name.value.trim() } });
    f.reset();
    await list.redraw();
  });
  root.append(h('h1', { text: t('nav.units') }), form, list.el);
  await list.redraw();
}

function jurisdictionForm(unit, redraw) {
  const form = h('form', { class: 'row', novalidate: true },
    field(t('admin.geojsonFile'), h('input', { type: 'file', name: 'file', accept: '.geojson,.json,application/geo+json,application/json' }), { inline: true }),
    field(t('admin.coord'), select('coord', [['wgs84', 'WGS-84'], ['gcj02', 'GCJ-02']]), { inline: true }),
    formError(), h('button', { type: 'submit', text: t('admin.upload') }));
  onSubmit(form, async (f) => {
    const file = f.elements.file.files[0];
    if (!file) return showError(f, { message: t('form.required') }, 'file');
    let json;
    try { json = JSON.parse(await file.text()); } catch { return showError(f, { message: t('admin.notJson') }, 'file'); }
    await api('PUT', `/admin/units/${encodeURIComponent(unit.id)}/jurisdiction`, { query: { coord: f.elements.coord.value }, json });
    await redraw();
  });
  return form;
}

// ---- Categories and deadlines -----------------------------------------------------------------

async function categoriesView(root) {
  const [cats, units] = await Promise.all([api('GET', '/admin/categories'), all('/admin/units')]);
  const departments = units.filter((u) => u.kind === 'department');
  root.append(h('h1', { text: t('nav.categories') }));
  for (const c of cats) {
    const form = h('form', { class: 'card', novalidate: true, dataset: { category: c.code } },
      h('h2', { text: `${c.name} (${c.code})` }),
      h('div', { class: 'row' },
        field(t('admin.categoryName'), h('input', { name: 'name', value: c.name, maxlength: 32 }), { inline: true }),
        field(t('admin.urgency'), select('urgency', ['urgent', 'normal', 'low'].map((u) => [u, label('urgency', u)]), c.urgency), { inline: true }),
        field(t('admin.responseHours'), h('input', { name: 'response_secs', type: 'number', min: 0.25, step: 0.25, value: c.response_secs / 3600 }), { inline: true }),
        field(t('admin.resolutionHours'), h('input', { name: 'resolution_secs', type: 'number', min: 0.25, step: 0.25, value: c.resolution_secs / 3600 }), { inline: true })),
      field(t('admin.hint'), h('input', { name: 'hint', value: c.hint, maxlength: 200, style: 'width:100%' })),
      departments.length ? h('div', { class: 'field', dataset: { field: 'office_ids' } }, h('label', { text: t('admin.departments') }),
        departments.map((d) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'office_ids', value: d.id, checked: c.department_ids.includes(d.id) }), d.name)),
        h('p', { class: 'err', hidden: true })) : null,
      formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.save') }), h('span', { class: 'hint saved' }));
    onSubmit(form, async (f) => {
      if (!requireFilled(f, ['name', 'response_secs', 'resolution_secs'])) return;
      const hours = (n) => Math.round(Number(f.elements[n].value) * 3600);
      await api('PUT', `/admin/categories/${c.code}`, { json: { name: f.elements.name.value.trim(), hint: text(f, 'hint'), urgency: f.elements.urgency.value, response_secs: hours('response_secs'), resolution_secs: hours('resolution_secs') } });
      if (departments.length) {
        const ids = [...f.querySelectorAll('input[name=office_ids]:checked')].map((i) => i.value);
        await api('PUT', `/admin/categories/${c.code}/departments`, { json: { office_ids: ids } });
      }
      f.querySelector('.saved').textContent = ' ' + t('admin.saved');
    });
    root.append(form);
  }
}

// ---- Point rules ------------------------------------------------------------------------------

const RULES = ['report_accepted', 'report_resolved', 'first_me_too', 'rating', 'checkin', 'checkins_per_day', 'award_max', 'awards_per_rider_per_day', 'daily_cap'];

async function pointsView(root) {
  const rules = await api('GET', '/points/rules');
  const form = h('form', { class: 'card', novalidate: true, id: 'rules' },
    h('div', { class: 'row' }, RULES.map((r) => field(t('rules.' + r), h('input', { name: r, type: 'number', min: 0, step: 1, value: rules[r] }), { inline: true }))),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.save') }), h('span', { class: 'hint saved' }));
  onSubmit(form, async (f) => {
    if (!requireFilled(f, RULES)) return;
    const body = { ...rules };
    for (const r of RULES) body[r] = Number(f.elements[r].value);
    Object.assign(rules, await api('PUT', '/points/rules', { json: body }));
    f.querySelector('.saved').textContent = ' ' + t('admin.saved');
  });
  root.append(h('h1', { text: t('nav.points') }), form);
}

// ---- Rewards ----------------------------------------------------------------------------------

async function rewardsView(root) {
  const places = await allPlaces();
  // Rewards are listed nearest first from a point: the middle of the city's places.
  const mid = places.length
    ? { lat: places.reduce((a, p) => a + p.lat, 0) / places.length, lng: places.reduce((a, p) => a + p.lng, 0) / places.length }
    : null;
  const list = section(t('admin.rewardList'), async (redraw) => {
    const rewards = mid ? await all('/rewards', { lat: mid.lat.toFixed(6), lng: mid.lng.toFixed(6) }) : [];
    if (!rewards.length) return h('p', { class: 'hint', text: t('admin.noRewards') });
    return h('div', { class: 'table-wrap' }, h('table', { id: 'rewards' },
      h('thead', {}, h('tr', {}, [t('admin.rewardName'), t('admin.cost'), t('admin.stock'), t('admin.pickupPlace'), t('admin.validUntil'), ''].map((c) => h('th', { text: c })))),
      h('tbody', {}, rewards.map((r) => h('tr', {},
        h('td', { text: r.name }), h('td', { text: String(r.cost) }),
        h('td', {}, stockForm(r, redraw)),
        h('td', { text: r.place.name }), h('td', { text: fmtTime(r.valid_until) }),
        h('td', {}, h('button', { type: 'button', class: 'danger', text: t('admin.withdraw'), onclick: async (ev) => {
          try { await api('PATCH', `/rewards/${encodeURIComponent(r.id)}`, { json: { withdrawn: true } }); await redraw(); } catch (e) { alertIn(ev.target, e); }
        } })))))));
  });
  const inMonth = new Date(); inMonth.setMonth(inMonth.getMonth() + 1);
  let photoId = null;
  const photo = h('input', { type: 'file', name: 'photo_media_id', accept: 'image/jpeg,image/png,image/webp' });
  photo.addEventListener('change', async () => {
    const spot = photo.closest('.field');
    spot.classList.remove('invalid'); spot.querySelector('.err').hidden = true;
    photoId = null;
    if (!photo.files[0]) return;
    try { photoId = (await upload(photo.files[0])).id; } catch (e) { showError(form, e, 'photo_media_id'); }
  });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: t('admin.newReward') }),
    field(t('admin.pickupPlace'), select('place_id', [['', t('form.choose')], ...places.map((p) => [p.id, `${p.name} · ${label('kind', p.kind)}`])])),
    field(t('admin.rewardName'), h('input', { name: 'name', maxlength: 64 })),
    field(t('admin.rewardDescription'), h('textarea', { name: 'description', maxlength: 1000 })),
    h('div', { class: 'row' },
      field(t('admin.cost'), h('input', { name: 'cost', type: 'number', min: 1, value: 50 }), { inline: true }),
      field(t('admin.stock'), h('input', { name: 'stock', type: 'number', min: 0, value: 10 }), { inline: true }),
      field(t('admin.validUntil'), h('input', { name: 'valid_until', type: 'datetime-local', value: localInput(inMonth) }), { inline: true }),
      field(t('admin.pickupDays'), h('input', { name: 'pickup_secs', type: 'number', min: 1, max: 30, value: 7 }), { inline: true })),
    field(t('admin.photo'), photo),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.create') }));
  onSubmit(form, async (f) => {
    if (!requireFilled(f, ['place_id', 'name', 'cost', 'stock', 'valid_until', 'pickup_secs'])) return;
    const body = {
      place_id: f.elements.place_id.value.trim(), name: f.elements.name.value.trim(), description: text(f, 'description'),
      cost: Number(f.elements.cost.value), stock: Number(f.elements.stock.value),
      valid_until: new Date(f.elements.valid_until.value).toISOString(), pickup_secs: Math.round(Number(f.elements.pickup_secs.value) * 86400),
    };
    if (photoId) body.photo_media_id = photoId;
    await api('POST', '/rewards', { json: body });
    f.reset(); photoId = null;
    await list.redraw();
  });
  root.append(h('h1', { text: t('nav.rewards') }), form, list.el);
  await list.redraw();
}

function stockForm(reward, redraw) {
  const form = h('form', { class: 'row', novalidate: true },
    field('', h('input', { name: 'stock', type: 'number', min: 0, value: reward.stock, style: 'width:6rem', 'aria-label': t('admin.stock') }), { inline: true }),
    formError(), h('button', { type: 'submit', text: t('admin.save') }));
  onSubmit(form, async (f) => {
    await api('PATCH', `/rewards/${encodeURIComponent(reward.id)}`, { json: { stock: Number(f.elements.stock.value) } });
    await redraw();
  });
  void clearErrors;
  return form;
}

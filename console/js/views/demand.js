// The unmet-demand map: where riders searched and found nothing open (GET /admin/demand, GeoJSON
// cells), drawn over the units' outlines as SVG, most unmet first in the table beside it.
import { all, api } from '../api.js';
import { h, clear, isoDay, fmtRate } from '../dom.js';
import { field, formError, onSubmit, select } from '../forms.js';
import { t, label } from '../i18n.js';
import { drawMap } from '../map.js';
import { AMENITIES } from './places.js';

const DAY = 86400000;

/** A colour from pale to deep red by the share of searches that found nothing. */
function shade(share) {
  const s = Math.max(0, Math.min(1, share));
  const l = 92 - s * 52;
  return `hsl(4, 75%, ${l.toFixed(0)}%)`;
}

export async function render(root) {
  const units = await all('/admin/units');
  const outlines = (await Promise.all(units.map((u) => api('GET', '/triage/unit', { query: { office_id: u.id } }).catch(() => null))))
    .filter((o) => o && o.jurisdiction && o.kind === 'street_office');
  const form = h('form', { class: 'card row', novalidate: true },
    field(t('figures.from'), h('input', { type: 'date', name: 'from', value: isoDay(new Date(Date.now() - 30 * DAY)) }), { inline: true }),
    field(t('figures.to'), h('input', { type: 'date', name: 'to', value: isoDay(new Date()) }), { inline: true }),
    field(t('demand.kind'), select('kind', [['all', t('all')], ...['station', 'parking_zone', 'friendly_site'].map((k) => [k, label('kind', k)])]), { inline: true }),
    field(t('demand.amenity'), select('amenity', [['', t('all')], ...AMENITIES.map((a) => [a, label('amenity', a)])]), { inline: true }),
    h('div', { class: 'field inline' }, h('button', { class: 'primary', type: 'submit', text: t('figures.show') })),
    formError());
  const out = h('div', { id: 'demand' });
  async function show(f) {
    const from = new Date(f.elements.from.value + 'T00:00:00'), to = new Date(new Date(f.elements.to.value + 'T00:00:00').getTime() + DAY);
    // Outlines are GCJ-02, as the cells are asked for.
    const fc = await api('GET', '/admin/demand', { query: { from: from.toISOString(), to: to.toISOString(), kind: f.elements.kind.value, amenity: f.elements.amenity.value, coord: 'gcj02', limit: 1000 } });
    const cells = fc.features || [];
    clear(out).append(
      h('div', { class: 'grid2' },
        h('div', { class: 'card' },
          drawMap({
            outlines: outlines.map((o) => ({ geometry: o.jurisdiction, label: o.name })),
            cells: cells.map((c) => ({ geometry: c.geometry, fill: shade(c.properties.unmet_share), title: `${c.properties.unmet}/${c.properties.searches}` })),
            width: 640, label: t('nav.demand'),
          }),
          h('div', { class: 'legend' }, [0, 0.25, 0.5, 0.75, 1].map((s) => h('span', {}, h('i', { style: `background:${shade(s)}` }), fmtRate(s)))),
          h('p', { class: 'hint', text: t('demand.threshold') })),
        h('div', { class: 'card' }, cells.length
          ? h('table', { id: 'cells' }, h('thead', {}, h('tr', {}, [t('demand.unmet'), t('demand.searches'), t('demand.share'), t('demand.nearest')].map((c) => h('th', { text: c })))),
            h('tbody', {}, cells.slice(0, 50).map((c) => h('tr', {}, h('td', { text: String(c.properties.unmet) }), h('td', { text: String(c.properties.searches) }),
              h('td', { text: fmtRate(c.properties.unmet_share) }), h('td', { text: c.properties.nearest_place_m != null ? `${c.properties.nearest_place_m} m` : '—' })))))
          : h('p', { class: 'hint', text: t('demand.none') }))));
  }
  onSubmit(form, show);
  root.append(h('h1', { text: t('nav.demand') }), form, out);
  await show(form).catch((e) => { clear(out).append(h('p', { class: 'banner error', text: e.message })); });
}

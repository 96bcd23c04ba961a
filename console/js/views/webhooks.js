// Office webhooks: a unit's endpoints (clerks their own unit's, city admins any unit's), the
// signing secret shown once, a test delivery, and each endpoint's deliveries with the dead
// letters (given up after every attempt) and their retry.
import { all, api, units } from '../api.js';
import { h, clear, fmtTime } from '../dom.js';
import { field, formError, onSubmit, requireFilled, select, showError, text } from '../forms.js';
import { t, label } from '../i18n.js';

const EVENTS = ['report.routed', 'report.transferred_in', 'report.overdue_response', 'report.overdue_resolution', 'report.reopened', 'report.rated'];

export async function render(root, { me }) {
  const isAdmin = me.role === 'city_admin';
  const unitList = isAdmin ? await units() : [];
  const unitName = Object.fromEntries(unitList.map((u) => [u.id, u.name]));
  const secretBox = h('div', { role: 'status' });
  const listBox = h('div', {});

  const form = h('form', { class: 'card', novalidate: true, id: 'new-webhook' },
    h('h2', { text: t('hooks.new') }),
    isAdmin ? field(t('queue.unit'), select('office_id', [['', t('form.choose')], ...unitList.map((u) => [u.id, u.name])])) : null,
    field(t('hooks.url'), h('input', { name: 'url', type: 'url', maxlength: 2000, placeholder: 'https://', style: 'width:100%' }), { hint: t('hooks.urlHint') }),
    h('div', { class: 'field', dataset: { field: 'events' } }, h('label', { text: t('hooks.events') }),
      EVENTS.map((e) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'events', value: e, checked: true }), label('hookEvent', e))),
      h('p', { class: 'err', hidden: true })),
    field(t('hooks.description'), h('input', { name: 'description', maxlength: 200 })),
    formError(), h('button', { class: 'primary', type: 'submit', text: t('admin.create') }));
  onSubmit(form, async (f) => {
    if (!requireFilled(f, ['url', ...(isAdmin ? ['office_id'] : [])])) return;
    const events = [...f.querySelectorAll('input[name=events]:checked')].map((i) => i.value);
    if (!events.length) return showError(f, { message: t('form.required') }, 'events');
    const body = { url: f.elements.url.value.trim(), events, description: text(f, 'description') };
    if (isAdmin) body.office_id = f.elements.office_id.value;
    const made = await api('POST', '/webhooks', { json: body });
    showSecret(made.secret);
    f.reset();
    await redraw();
  });

  function showSecret(secret) {
    clear(secretBox).append(h('div', { class: 'banner ok' },
      h('strong', { text: t('hooks.secretOnce') }), ' ', h('code', { id: 'webhook-secret', text: secret })));
  }

  async function redraw() {
    const hooks = await all('/webhooks');
    clear(listBox).append(h('h2', { text: t('hooks.list', { n: hooks.length }) }),
      hooks.length ? h('div', {}, hooks.map((w) => hookCard(w))) : h('p', { class: 'hint', text: t('hooks.none') }));
  }

  function hookCard(w) {
    const deliveries = h('div', {});
    const card = h('section', { class: 'card', dataset: { webhook: w.id } },
      h('div', { class: 'row', style: 'justify-content: space-between' },
        h('h3', { style: 'margin:0; overflow-wrap:anywhere', text: w.url }),
        h('span', { class: 'badge ' + (w.active ? 'open' : 'rejected'), text: w.active ? t('hooks.active') : t('hooks.inactive') })),
      h('p', { class: 'hint', text: [isAdmin ? unitName[w.office_id] || w.office_id : null, w.description, w.events.map((e) => label('hookEvent', e)).join('、')].filter(Boolean).join(' · ') }),
      h('div', { class: 'actions' },
        button(t('hooks.test'), 'test', async () => { await api('POST', `/webhooks/${encodeURIComponent(w.id)}/test`); await showDeliveries(); }),
        button(w.active ? t('hooks.deactivate') : t('hooks.activate'), 'toggle', async () => { await api('PATCH', `/webhooks/${encodeURIComponent(w.id)}`, { json: { active: !w.active } }); await redraw(); }),
        button(t('hooks.rotate'), 'rotate', async () => { showSecret((await api('POST', `/webhooks/${encodeURIComponent(w.id)}/secret`)).secret); }),
        button(t('hooks.deliveries'), 'deliveries', () => showDeliveries()),
        button(t('hooks.delete'), 'delete', async () => { if (confirm(t('hooks.confirmDelete'))) { await api('DELETE', `/webhooks/${encodeURIComponent(w.id)}`); await redraw(); } }, 'danger')),
      deliveries);

    async function showDeliveries(status) {
      const page = await api('GET', `/webhooks/${encodeURIComponent(w.id)}/deliveries`, { query: { status, limit: 50 } });
      const filter = select('status', [['', t('all')], ['pending', label('delivery', 'pending')], ['sent', label('delivery', 'sent')], ['dead', label('delivery', 'dead')]], status || '');
      filter.addEventListener('change', () => showDeliveries(filter.value || undefined));
      clear(deliveries).append(
        h('div', { class: 'row' }, h('h3', { text: t('hooks.deliveries') }), filter, button(t('hooks.refresh'), 'refresh', () => showDeliveries(filter.value || undefined))),
        page.items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'deliveries' },
          h('thead', {}, h('tr', {}, [t('hooks.event'), t('hooks.status'), t('hooks.attempts'), t('hooks.lastError'), t('hooks.when'), ''].map((c) => h('th', { text: c })))),
          h('tbody', {}, page.items.map((d) => h('tr', { dataset: { delivery: d.id, status: d.status } },
            h('td', { text: d.event ? label('hookEvent', d.event) : '—' }),
            h('td', {}, h('span', { class: 'badge ' + (d.status === 'dead' ? 'submitted' : d.status === 'sent' ? 'open' : 'accepted'), text: label('delivery', d.status) })),
            h('td', { text: String(d.attempts) }),
            h('td', { class: 'note', text: [d.last_http_status ? `HTTP ${d.last_http_status}` : null, d.last_error].filter(Boolean).join(' · ') || '—' }),
            h('td', { text: fmtTime(d.sent_at || d.last_attempt_at || d.created_at) }),
            h('td', {}, d.status === 'dead' ? button(t('hooks.retry'), 'retry', async () => {
              await api('POST', `/webhooks/${encodeURIComponent(w.id)}/deliveries/${encodeURIComponent(d.id)}/retry`);
              await showDeliveries(filter.value || undefined);
            }) : null)))))) : h('p', { class: 'hint', text: t('hooks.noDeliveries') }));
    }

    function button(textValue, action, fn, cls = '') {
      const b = h('button', { type: 'button', class: cls, text: textValue, dataset: { action } });
      b.addEventListener('click', async () => {
        b.disabled = true;
        card.querySelector(':scope > .form-error')?.remove();
        try { await fn(); } catch (e) { card.append(h('p', { class: 'form-error', text: e.message })); } finally { b.disabled = false; }
      });
      return b;
    }
    return card;
  }

  root.append(h('h1', { text: t('nav.webhooks') }), secretBox, form, listBox);
  await redraw();
}

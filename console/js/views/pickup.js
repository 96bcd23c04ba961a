// Points-supermarket pickups at the counter: the manager types the rider's 10-digit code (or
// scans it where the browser has BarcodeDetector) and sees what waits to be picked up.
import { api } from '../api.js';
import { h, clear, fmtTime } from '../dom.js';
import { field, formError, onSubmit, requireFilled, select } from '../forms.js';
import { t, label } from '../i18n.js';

export async function render(root) {
  const places = (await api('GET', '/manager/places', { query: { limit: 100 } })).items;
  root.append(h('h1', { text: t('pickup.title') }));
  if (!places.length) { root.append(h('p', { class: 'hint', text: t('places.none') })); return; }
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const pending = h('div', {});
  const code = h('input', { name: 'code', class: 'code-input', inputmode: 'numeric', autocomplete: 'off', maxlength: 40, placeholder: '0000000000', pattern: '[0-9 -]*' });
  const form = h('form', { class: 'card', novalidate: true },
    field(t('pickup.place'), select('place_id', places.map((p) => [p.id, p.name]))),
    field(t('pickup.code'), code, { hint: t('pickup.codeHint') }),
    formError(),
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', text: t('pickup.confirm') }), scanButton(code)));
  onSubmit(form, async (f) => {
    clear(result);
    if (!requireFilled(f, ['code'])) return;
    const digits = f.elements.code.value.replace(/[\s-]/g, '');
    if (!/^\d{10}$/.test(digits)) throw Object.assign(new Error(t('pickup.tenDigits')), { details: { field: 'code' } });
    const r = await api('POST', `/places/${encodeURIComponent(f.elements.place_id.value)}/pickups`, { json: { code: digits } });
    result.append(h('p', { class: 'banner ok', text: t('pickup.done', { reward: r.reward_name, cost: r.cost }) }));
    f.elements.code.value = '';
    await showPending(f.elements.place_id.value);
  });
  form.elements.place_id.addEventListener('change', () => showPending(form.elements.place_id.value));

  async function showPending(placeId) {
    const list = (await api('GET', `/places/${encodeURIComponent(placeId)}/redemptions`, { query: { status: 'pending', limit: 100 } })).items;
    clear(pending).append(h('h2', { text: t('pickup.pending', { n: list.length }) }),
      list.length ? h('table', {}, h('thead', {}, h('tr', {}, [t('pickup.reward'), t('pickup.cost'), t('pickup.expires')].map((c) => h('th', { text: c })))),
        h('tbody', {}, list.map((r) => h('tr', {}, h('td', { text: r.reward_name }), h('td', { text: String(r.cost) }), h('td', { text: fmtTime(r.expires_at) })))))
        : h('p', { class: 'hint', text: t('pickup.nonePending') }));
  }
  root.append(form, result, pending);
  await showPending(places[0].id).catch(() => {});
  setTimeout(() => code.focus(), 0);
  void label;
}

/** A scan button where the browser can read QR codes and barcodes itself; nothing otherwise. */
function scanButton(input) {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices) return null;
  const video = h('video', { class: 'scan', playsinline: true, muted: true, hidden: true });
  const button = h('button', { type: 'button', text: t('pickup.scan') });
  let stream = null;
  const stop = () => { stream?.getTracks().forEach((tr) => tr.stop()); stream = null; video.hidden = true; };
  button.addEventListener('click', async () => {
    if (stream) return stop();
    try {
      const detector = new window.BarcodeDetector({ formats: ['qr_code', 'code_128', 'ean_13'] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream; video.hidden = false;
      await video.play();
      const tick = async () => {
        if (!stream) return;
        const found = await detector.detect(video).catch(() => []);
        const digits = found.map((f) => String(f.rawValue).replace(/\D/g, '')).find((d) => d.length === 10);
        if (digits) { input.value = digits; stop(); input.form?.requestSubmit(); return; }
        setTimeout(tick, 250);
      };
      tick();
    } catch {
      stop();
    }
  });
  return h('span', {}, button, video);
}

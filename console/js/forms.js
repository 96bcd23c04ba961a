// Forms: a labelled control per field, each with its own error line, so an API error whose
// `details.field` names a field is shown next to that field; anything else above the buttons.
import { h } from './dom.js';
import { t } from './i18n.js';

/**
 * A labelled field. `control` is an input, select or textarea whose `name` is the API's field.
 * @param {string} labelText
 * @param {HTMLElement} control
 * @param {{hint?: string, inline?: boolean}} [opts]
 */
export function field(labelText, control, opts = {}) {
  const id = control.id || (control.id = 'f-' + Math.random().toString(36).slice(2, 9));
  const err = h('p', { class: 'err', role: 'alert', hidden: true });
  const wrap = h('div', { class: 'field' + (opts.inline ? ' inline' : ''), dataset: { field: control.name || '' } },
    h('label', { for: id, text: labelText }), control, opts.hint ? h('div', { class: 'hint', text: opts.hint }) : null, err);
  return wrap;
}

/** A form-level error line (place it above the buttons). */
export function formError() {
  return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

/** Clears the errors a form shows. */
export function clearErrors(form) {
  for (const f of form.querySelectorAll('.field.invalid')) f.classList.remove('invalid');
  for (const e of form.querySelectorAll('.err, .form-error')) { e.textContent = ''; e.hidden = true; }
}

/**
 * Shows an error: next to the field `details.field` names (or `fieldHint` for errors without
 * details), else in the form's error line. Answers whether it found a place for it.
 * @param {HTMLFormElement | HTMLElement} form
 * @param {any} err  an ApiError or Error
 * @param {string} [fieldHint]
 */
export function showError(form, err, fieldHint) {
  const details = (err && err.details) || {};
  // A body the schema refuses names its field only in the reason: "field `url` verification failed".
  const named = typeof details.reason === 'string' && details.reason.match(/field `(\w+)`/);
  const name = (typeof details.field === 'string' && details.field) || (named && named[1]) || fieldHint;
  const msg = err && err.message ? err.message : String(err);
  let spot = null;
  if (name) {
    // `notes.public_note` and `body.reason` name the same field as `public_note` and `reason`.
    const candidates = [name, name.split('.').pop(), name.split('[')[0]];
    for (const c of candidates) {
      spot = form.querySelector(`.field[data-field="${CSS.escape(c)}"]`);
      if (spot) break;
    }
  }
  if (spot) {
    spot.classList.add('invalid');
    const line = spot.querySelector('.err');
    line.textContent = msg;
    line.hidden = false;
    const input = spot.querySelector('input, select, textarea');
    if (input) input.focus();
    return true;
  }
  const line = form.querySelector('.form-error');
  if (line) { line.textContent = msg; line.hidden = false; }
  return false;
}

/** Marks a required field empty before anything is sent. */
export function requireFilled(form, names) {
  let ok = true;
  for (const name of names) {
    const el = form.elements.namedItem(name);
    if (el && !String(el.value).trim()) {
      showError(form, { message: t('form.required') }, name);
      ok = false;
    }
  }
  return ok;
}

/**
 * Wires a form's submit: clears errors, disables the buttons while `fn` runs, shows its error.
 * @param {HTMLFormElement} form
 * @param {(form: HTMLFormElement) => Promise<any>} fn
 */
export function onSubmit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => (b.disabled = true));
    try {
      await fn(form);
    } catch (err) {
      showError(form, err);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  return form;
}

/** A trimmed text value, or undefined when blank (the API takes absent, never empty, notes). */
export function text(form, name) {
  const el = form.elements.namedItem(name);
  const v = el ? String(el.value).trim() : '';
  return v ? v : undefined;
}

/** A <select> of options [[value, label], …]. */
export function select(name, options, value) {
  return h('select', { name }, options.map(([v, l]) => h('option', { value: v, selected: v === value, text: l })));
}

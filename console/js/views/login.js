// Staff login: username and password; the session lasts as long as the API says (the day).
import { api } from '../api.js';
import { h } from '../dom.js';
import { field, formError, onSubmit, requireFilled } from '../forms.js';
import { t } from '../i18n.js';
import * as session from '../session.js';

export function render(root, { onLogin }) {
  const form = h('form', { class: 'card login', novalidate: true },
    h('h1', { text: t('login.title') }),
    field(t('login.username'), h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: 64 })),
    field(t('login.password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 128 })),
    formError(),
    h('button', { class: 'primary', type: 'submit', text: t('login.submit') }),
  );
  onSubmit(form, async (f) => {
    if (!requireFilled(f, ['username', 'password'])) return;
    const res = await api('POST', '/auth/staff-login', {
      json: { username: f.elements.username.value.trim(), password: f.elements.password.value },
    });
    if (res.role === 'rider') throw new Error(t('login.notStaff'));
    session.save(res);
    session.setMe(null);
    onLogin();
  });
  root.append(form);
  setTimeout(() => form.elements.username.focus(), 0);
}

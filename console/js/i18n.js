// One message catalogue per language: Chinese by default, English when the browser prefers it.
import zh from './messages/zh.js';
import en from './messages/en.js';

/** The first of the browser's languages that is Chinese or English decides; otherwise Chinese. */
function pick() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'zh'];
  for (const l of langs) {
    const tag = String(l).toLowerCase();
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh';
}

/** @type {'zh' | 'en'} */
export const lang = pick();
const catalogue = lang === 'en' ? en : zh;

/**
 * A message by key, with `{name}` placeholders filled from `vars`. A key missing from the
 * catalogue falls back to Chinese, then to the key itself.
 * @param {string} key
 * @param {Record<string, string | number>} [vars]
 */
export function t(key, vars) {
  let text = catalogue[key] ?? zh[key] ?? key;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return text;
}

/** An enum value's label (`status.submitted`), or the value itself. */
export function label(group, value) {
  const key = `${group}.${value}`;
  return catalogue[key] ?? zh[key] ?? value;
}

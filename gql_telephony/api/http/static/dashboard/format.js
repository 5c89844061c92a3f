// Small helpers shared by the views: counts, times, names for people, user errors by field.
import { html } from './lib.js';

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const STEPS = [['year', 31_536_000], ['month', 2_592_000], ['day', 86_400], ['hour', 3600], ['minute', 60]];

export function ago(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export const When = ({ at }) => html`<time datetime=${at} title=${new Date(at).toLocaleString()}>${ago(at)}</time>`;

// TELEPHONY_CONFIG_UPDATED -> "Telephony config updated"
export const humanize = (code) => code.charAt(0) + code.slice(1).toLowerCase().replaceAll('_', ' ');

export const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;

// The three severities, each in a span tests and styles find by data-severity.
export const SeverityCounts = ({ counts }) => html`
  <span class="severities">
    <span class="badge" data-severity="critical">${counts?.critical ?? 0} critical</span>
    <span class="badge" data-severity="warning">${plural(counts?.warning ?? 0, 'warning', 'warnings')}</span>
    <span class="badge" data-severity="info">${counts?.info ?? 0} info</span>
  </span>`;

export const LastCheck = ({ check }) => (check
  ? html`<span>${humanize(check.status)}, <${When} at=${check.checkedAt} /></span>`
  : 'Not checked yet');

// User errors by the field they name, for the fields a form shows (`known`); the rest are general.
// A path loses its leading "input": ["input", "config", "api_key"] -> "config.api_key".
export function errorsByField(userErrors, known) {
  const byField = {};
  const general = [];
  for (const error of userErrors) {
    const path = (error.field || []).filter((part, index) => !(index === 0 && part === 'input')).join('.');
    if (known.has(path) && !(path in byField)) byField[path] = error.message;
    else general.push(error.message);
  }
  return { byField, general };
}

// One labelled control's ids: the hint and the error are linked to it with aria-describedby.
export const describedBy = (id, hint, error) => [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;

export const FieldError = ({ id, message }) => (message
  ? html`<p class="field-error" id=${`${id}-error`}>${message}</p>` : null);

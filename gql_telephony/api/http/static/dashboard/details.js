// One configuration: its actions, warnings, phone numbers (paged) and recent changes.
import { mutate } from './api.js';
import {
  describedBy, errorsByField, humanize, LastCheck, plural, When,
} from './format.js';
import { Labelled } from './forms.js';
import {
  html, useEffect, useRef, useState,
} from './lib.js';
import {
  ADD_NUMBER, CHECK_CONFIG, DELETE_CONFIG, IMPORT_NUMBERS, NUMBERS_PER_PAGE, REMOVE_NUMBER, SET_DEFAULT,
  UPDATE_NUMBER,
} from './queries.js';

// Runs a mutation; answers its payload when it had no user error, else reports them and answers null.
async function run(session, document, input, { onFailure }) {
  try {
    const payload = await mutate(session.key, document, input);
    if (payload.userErrors?.length) {
      onFailure(new Error(payload.userErrors.map((error) => error.message).join(' ')));
      return null;
    }
    return payload;
  } catch (failure) {
    onFailure(failure);
    return null;
  }
}

function DeleteDialog({ config, onConfirm, onClose }) {
  const dialog = useRef(null);
  useEffect(() => {
    dialog.current.showModal();
  }, []);
  return html`
    <dialog ref=${dialog} aria-labelledby="delete-heading" onClose=${onClose}>
      <h2 id="delete-heading">Delete ${config.name}?</h2>
      <p>Its ${plural(config.phoneNumbers.totalCount, 'phone number goes', 'phone numbers go')} with it. This cannot be undone.</p>
      <div class="actions">
        <button type="button" class="danger" onClick=${onConfirm}>Delete configuration</button>
        <button type="button" class="secondary" autofocus onClick=${() => dialog.current.close()}>Cancel</button>
      </div>
    </dialog>`;
}

function NumberRow({
  number, readOnly, act,
}) {
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(number.label ?? '');
  const input = useRef(null);
  useEffect(() => { if (editing) input.current?.focus(); }, [editing]);
  const e164 = number.phoneNumber;

  async function saveLabel(event) {
    event.preventDefault();
    if (await act(UPDATE_NUMBER, { id: number.id, label: label.trim() || null }, `Label of ${e164} saved.`)) {
      setEditing(false);
    }
  }

  return html`
    <tr data-number=${e164}>
      <td>${e164}</td>
      <td>${editing ? html`
        <form class="inline" onSubmit=${saveLabel}>
          <label class="visually-hidden" for=${`label-${number.id}`}>Label for ${e164}</label>
          <input id=${`label-${number.id}`} ref=${input} value=${label} maxlength="64"
            onInput=${(event) => setLabel(event.target.value)}
            onKeyDown=${(event) => { if (event.key === 'Escape') setEditing(false); }} />
          <button type="submit">Save label</button>
          <button type="button" class="secondary" onClick=${() => setEditing(false)}>Cancel</button>
        </form>` : number.label || html`<span class="muted">No label</span>`}
      </td>
      <td>${number.isActive ? 'Active' : 'Inactive'}${number.providerCheck
        && html`<span class="muted"> · ${humanize(number.providerCheck.status)}</span>`}</td>
      ${!readOnly && html`<td class="row-actions">
        <button type="button" class="secondary" aria-label=${`${number.isActive ? 'Deactivate' : 'Activate'} ${e164}`}
          onClick=${() => act(UPDATE_NUMBER, { id: number.id, isActive: !number.isActive },
            `${e164} ${number.isActive ? 'deactivated' : 'activated'}.`)}>${number.isActive ? 'Deactivate' : 'Activate'}</button>
        ${!editing && html`<button type="button" class="secondary" aria-label=${`Edit label ${e164}`}
          onClick=${() => { setLabel(number.label ?? ''); setEditing(true); }}>Edit label</button>`}
        <button type="button" class="danger" aria-label=${`Remove ${e164}`}
          onClick=${() => act(REMOVE_NUMBER, { id: number.id }, `${e164} removed.`)}>Remove</button>
      </td>`}
    </tr>`;
}

function AddNumberForm({ session, configId, onChanged, onFailure }) {
  const [values, setValues] = useState({ phoneNumber: '', region: 'US', label: '' });
  const [errors, setErrors] = useState({ byField: {}, general: [] });
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    try {
      const payload = await mutate(session.key, ADD_NUMBER, {
        telephonyConfigId: configId,
        phoneNumber: values.phoneNumber.trim(),
        region: values.region.trim().toUpperCase() || null,
        label: values.label.trim() || null,
      });
      if (payload.userErrors.length) {
        setErrors(errorsByField(payload.userErrors, new Set(['phoneNumber', 'region', 'label'])));
      } else {
        setErrors({ byField: {}, general: [] });
        setValues({ ...values, phoneNumber: '', label: '' });
        await onChanged(configId, `${payload.phoneNumber.phoneNumber} added.`);
      }
    } catch (failure) {
      onFailure(failure);
    }
    setBusy(false);
  }

  const input = (name, label, extra = {}) => {
    const id = `add-${name}`;
    const error = errors.byField[name];
    return html`<${Labelled} id=${id} label=${label} error=${error} required=${name === 'phoneNumber'}>
      <input id=${id} value=${values[name]} autocomplete="off" spellcheck="false" ...${extra}
        aria-invalid=${error ? 'true' : undefined} aria-describedby=${describedBy(id, false, error)}
        onInput=${(event) => setValues({ ...values, [name]: event.target.value })} />
    <//>`;
  };
  return html`
    <form aria-label="Add phone number" class="add-number" onSubmit=${submit} novalidate>
      ${errors.general.length > 0 && html`<div role="alert" class="form-error">${errors.general.join(' ')}</div>`}
      ${input('phoneNumber', 'Phone number', { type: 'tel', placeholder: '+14155550100', 'aria-required': 'true' })}
      ${input('region', 'Region', { maxlength: 2, size: 3, class: 'short' })}
      ${input('label', 'Label', { maxlength: 64 })}
      <div class="actions"><button type="submit" disabled=${busy}>Add number</button></div>
    </form>`;
}

function PhoneNumbers({
  session, config, readOnly, hasPrevious, onPage, act, onChanged, onFailure,
}) {
  const { nodes, totalCount, pageInfo } = config.phoneNumbers;
  return html`
    <section aria-labelledby="numbers-heading" class="subsection">
      <div class="section-head">
        <h3 id="numbers-heading">Phone numbers</h3>
        ${!readOnly && config.providerMetadata.importsNumbers && html`
          <button type="button" class="secondary" onClick=${async () => {
            const done = await run(session, IMPORT_NUMBERS, { telephonyConfigId: config.id }, { onFailure });
            if (done) {
              await onChanged(config.id, `Imported ${plural(done.importedCount ?? 0, 'number', 'numbers')}; `
                + `${done.alreadyRegisteredCount ?? 0} already registered.`);
            }
          }}>Import from provider</button>`}
      </div>
      <p>${plural(totalCount, 'number', 'numbers')}, ${config.phoneNumberCount} active.</p>
      ${nodes.length > 0 && html`
        <div class="table-scroll" tabindex="0">
          <table aria-label="Phone numbers">
            <thead><tr>
              <th scope="col">Number</th><th scope="col">Label</th><th scope="col">Status</th>
              ${!readOnly && html`<th scope="col">Actions</th>`}
            </tr></thead>
            <tbody>${nodes.map((number) => html`
              <${NumberRow} key=${number.id} number=${number} readOnly=${readOnly} act=${act} />`)}
            </tbody>
          </table>
        </div>`}
      ${(hasPrevious || pageInfo.hasNextPage) && html`
        <nav class="pager" aria-label="Phone number pages">
          <button type="button" class="secondary" disabled=${!hasPrevious} onClick=${() => onPage(undefined)}>Previous page</button>
          <button type="button" class="secondary" disabled=${!pageInfo.hasNextPage}
            onClick=${() => onPage(pageInfo.endCursor)}>Next page</button>
          <span class="muted">${NUMBERS_PER_PAGE} per page</span>
        </nav>`}
      ${!readOnly && html`<${AddNumberForm} session=${session} configId=${config.id}
        onChanged=${onChanged} onFailure=${onFailure} />`}
    </section>`;
}

function History({ events }) {
  return html`
    <section aria-labelledby="history-heading" class="subsection">
      <h3 id="history-heading">Recent changes</h3>
      ${events.length === 0 ? html`<p class="muted">No change recorded yet.</p>` : html`
        <ul class="history">${events.map((event) => html`
          <li key=${event.id}>
            <strong>${humanize(event.action)}</strong>
            ${' '}by ${event.actor.system ? 'the server' : event.actor.label || 'an unlabelled key'},
            ${' '}<${When} at=${event.occurredAt} />
            ${event.changes.length > 0 && html`<span class="muted"> (${event.changes.map((change) => change.field).join(', ')})</span>`}
          </li>`)}
        </ul>`}
    </section>`;
}

export function ConfigDetails({
  session, config, readOnly, hasPrevious, onPage, onEdit, onChanged, onFailure, notify,
}) {
  const [deleting, setDeleting] = useState(false);
  const [checking, setChecking] = useState(false);
  const heading = useRef(null);
  useEffect(() => heading.current?.focus(), []);

  // A mutation of this configuration or its numbers, then the page reads it again.
  async function act(document, input, message) {
    const done = await run(session, document, input, { onFailure });
    if (done) await onChanged(config.id, message);
    return done;
  }

  async function check() {
    setChecking(true);
    notify(`Checking ${config.name} with ${config.providerMetadata.name}…`);
    await act(CHECK_CONFIG, { id: config.id }, `${config.name} checked.`);
    setChecking(false);
  }

  async function remove() {
    setDeleting(false);
    const done = await run(session, DELETE_CONFIG, { id: config.id, expectedVersion: config.version }, { onFailure });
    if (done) await onChanged(null, `${config.name} deleted.`);
  }

  return html`
    <section aria-labelledby="details-heading" class="panel details">
      <div class="section-head">
        <h2 id="details-heading" tabindex="-1" ref=${heading}>${config.name}</h2>
        ${config.isDefaultOutbound && html`<span class="badge default">Default</span>`}
      </div>
      <p>${config.providerMetadata.name} · Last check: <${LastCheck} check=${config.providerCheck} />
        ${config.providerCheck?.message && html` · ${config.providerCheck.message}`}</p>
      ${!readOnly && html`
        <div class="actions">
          <button type="button" onClick=${onEdit}>Edit</button>
          ${!config.isDefaultOutbound && html`<button type="button" class="secondary"
            onClick=${() => act(SET_DEFAULT, { id: config.id }, `${config.name} is now the default outbound configuration.`)}>
            Set as default</button>`}
          <button type="button" class="secondary" disabled=${checking} onClick=${check}>Check now</button>
          <button type="button" class="danger" onClick=${() => setDeleting(true)}>Delete</button>
        </div>`}
      ${config.warnings.length > 0 ? html`
        <ul aria-label="Configuration warnings" class="warnings">${config.warnings.map((warning) => html`
          <li>
            <span class="badge" data-level=${warning.severity.toLowerCase()}>${humanize(warning.severity)}</span>
            ${' '}${warning.message}${warning.phoneNumber && ` (${warning.phoneNumber.phoneNumber})`}
          </li>`)}
        </ul>` : html`<p class="muted">No warning for this configuration.</p>`}
      <${PhoneNumbers} session=${session} config=${config} readOnly=${readOnly} hasPrevious=${hasPrevious}
        onPage=${onPage} act=${act} onChanged=${onChanged} onFailure=${onFailure} />
      <${History} events=${config.auditEvents.nodes} />
      ${deleting && html`<${DeleteDialog} config=${config} onConfirm=${remove} onClose=${() => setDeleting(false)} />`}
    </section>`;
}

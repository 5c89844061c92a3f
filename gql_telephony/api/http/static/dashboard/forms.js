// The configuration form, drawn entirely from telephonyProviders: a provider the server adds
// appears here with no change to the page. Each field's label, type, required, secret,
// description, placeholder, defaultValue and choices decide its control.
import { gql, mutate } from './api.js';
import {
  describedBy, errorsByField, FieldError,
} from './format.js';
import {
  html, useEffect, useRef, useState,
} from './lib.js';
import { CONFIG_FOR_EDIT, CREATE_CONFIG, UPDATE_CONFIG } from './queries.js';

// A control's value in the form: booleans as booleans, everything else as text.
function initialValue(field, config) {
  const value = config ? config[field.key] : field.defaultValue;
  if (field.type === 'BOOLEAN') return value === true;
  return value === null || value === undefined ? '' : String(value);
}

const initialValues = (provider, config) => Object.fromEntries(
  provider.fields.map((field) => [field.key, initialValue(field, config)]),
);

// A labelled input with its hint and error, linked by aria-describedby. `control` draws the
// input itself from the props it is given.
export function Labelled({
  id, label, hint, error, required, children,
}) {
  return html`
    <div class=${`field${error ? ' invalid' : ''}`}>
      <label for=${id}>${label}</label>${required && html`<span class="required" aria-hidden="true"> *</span>`}
      ${children}
      ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
      <${FieldError} id=${id} message=${error} />
    </div>`;
}

function ProviderFieldControl({
  field, value, error, onChange,
}) {
  const id = `config-${field.key}`;
  const common = {
    id,
    name: field.key,
    'aria-required': field.required ? 'true' : undefined,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': describedBy(id, field.description, error),
  };
  let control;
  if (field.type === 'BOOLEAN') {
    control = html`<input type="checkbox" ...${common} checked=${value}
      onChange=${(event) => onChange(event.target.checked)} />`;
  } else if (field.choices) {
    control = html`<select ...${common} value=${value} onChange=${(event) => onChange(event.target.value)}>
      ${!field.required && html`<option value="">(none)</option>`}
      ${field.choices.map((choice) => html`<option value=${choice}>${choice}</option>`)}
    </select>`;
  } else if (field.type === 'TEXTAREA') {
    control = html`<textarea ...${common} rows="4" placeholder=${field.placeholder || undefined} value=${value}
      spellcheck="false" onInput=${(event) => onChange(event.target.value)} />`;
  } else {
    const type = field.secret || field.type === 'PASSWORD' ? 'password' : field.type === 'URL' ? 'url' : 'text';
    // A secret shows its mask: sent back unchanged it keeps the stored secret. Focusing it
    // selects the mask, so typing replaces it rather than adding to it.
    control = html`<input type=${type} ...${common} value=${value} placeholder=${field.placeholder || undefined}
      autocomplete=${field.secret ? 'new-password' : 'off'} spellcheck="false"
      onFocus=${field.secret ? (event) => event.target.select() : undefined}
      onInput=${(event) => onChange(event.target.value)} />`;
  }
  return html`<${Labelled} id=${id} label=${field.label} hint=${field.description} error=${error}
    required=${field.required}>${control}<//>`;
}

// The config to send: on create, the fields filled in; on edit, every field (an emptied one as
// null, which clears it; a secret's unchanged mask keeps the stored secret).
function configInput(provider, values, editing) {
  const config = {};
  for (const field of provider.fields) {
    const value = values[field.key];
    if (field.type === 'BOOLEAN') config[field.key] = value;
    else if (value.trim() !== '') config[field.key] = value.trim();
    else if (editing) config[field.key] = null;
  }
  return config;
}

export function ConfigForm({
  session, providers, config: opened, onDone, onCancel, onFailure, onReload,
}) {
  // The configuration as it was read when the form opened (or reloaded): live updates elsewhere
  // on the page leave the form alone, and its version goes back as expectedVersion.
  const [config, setConfig] = useState(opened);
  const editing = Boolean(config);
  const [providerKey, setProviderKey] = useState(config?.provider ?? providers[0]?.key);
  const provider = providers.find((candidate) => candidate.key === providerKey);
  const [name, setName] = useState(config?.name ?? '');
  const [values, setValues] = useState(() => initialValues(provider, config?.config));
  const [errors, setErrors] = useState({ byField: {}, general: [] });
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  // The first field takes the focus once the form has rendered, unless a field of the form has it
  // already: a quick hand (or a test's fill) may be typing in another field by then.
  useEffect(() => {
    if (!first.current?.form?.contains(document.activeElement)) first.current?.focus();
  }, []);

  function chooseProvider(key) {
    setProviderKey(key);
    setValues(initialValues(providers.find((candidate) => candidate.key === key), null));
    setErrors({ byField: {}, general: [] });
  }

  // After a CONFLICT: the form takes the configuration as it now is (what was typed is dropped).
  async function reload() {
    try {
      const { telephonyConfig: fresh } = await gql(session.key, CONFIG_FOR_EDIT, { id: config.id });
      if (!fresh) {
        onFailure(new Error('This configuration was deleted elsewhere.'));
        onCancel();
        return;
      }
      setConfig(fresh);
      setName(fresh.name);
      setValues(initialValues(provider, fresh.config));
      setConflict(false);
      setErrors({ byField: {}, general: [] });
      onReload();
    } catch (failure) {
      onFailure(failure);
    }
  }

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setConflict(false);
    const input = editing
      ? {
        id: config.id, name: name.trim(), config: configInput(provider, values, true), expectedVersion: config.version,
      }
      : { name: name.trim(), provider: providerKey, config: configInput(provider, values, false) };
    try {
      const payload = await mutate(session.key, editing ? UPDATE_CONFIG : CREATE_CONFIG, input);
      const userErrors = payload.userErrors || [];
      if (userErrors.some((error) => error.code === 'CONFLICT')) {
        setConflict(true);
        setErrors({ byField: {}, general: [] });
      } else if (userErrors.length) {
        const known = new Set(['name', ...provider.fields.map((field) => `config.${field.key}`)]);
        setErrors(errorsByField(userErrors, known));
      } else {
        const saved = payload.telephonyConfig;
        await onDone(saved.id, editing ? `Saved ${saved.name}.` : `Created ${saved.name}.`);
        return;
      }
    } catch (failure) {
      onFailure(failure);
    }
    setBusy(false);
  }

  const label = editing ? `Edit ${config.name}` : 'New configuration';
  return html`
    <section class="panel" aria-labelledby="config-form-heading">
      <h2 id="config-form-heading">${label}</h2>
      <form aria-label=${label} onSubmit=${submit} novalidate class="config-form">
        ${conflict && html`
          <div role="alert" class="form-error">
            This configuration was changed elsewhere since you opened it. Reload it to see the changes, then edit again.
            <button type="button" onClick=${reload}>Reload</button>
          </div>`}
        ${errors.general.length > 0 && html`
          <div role="alert" class="form-error">${errors.general.map((message) => html`<p>${message}</p>`)}</div>`}
        ${!editing && html`
          <${Labelled} id="field-provider" label="Provider" hint=${provider?.notes}>
            <select id="field-provider" ref=${first} value=${providerKey} aria-describedby=${describedBy('field-provider', provider?.notes)}
              onChange=${(event) => chooseProvider(event.target.value)}>
              ${providers.map((candidate) => html`<option value=${candidate.key}>${candidate.name}</option>`)}
            </select>
          <//>`}
        ${provider?.docsUrl && html`
          <p class="hint">Where to find these values: <a href=${provider.docsUrl} target="_blank"
            rel="noopener noreferrer">${provider.name}'s documentation</a> (opens a new tab).</p>`}
        <${Labelled} id="field-name" label="Name" error=${errors.byField.name} required>
          <input id="field-name" ref=${editing ? first : undefined} value=${name} maxlength="64" autocomplete="off"
            aria-required="true" aria-invalid=${errors.byField.name ? 'true' : undefined}
            aria-describedby=${describedBy('field-name', false, errors.byField.name)}
            onInput=${(event) => setName(event.target.value)} />
        <//>
        ${provider?.fields.map((field) => html`
          <${ProviderFieldControl} key=${`${providerKey}-${field.key}`} field=${field} value=${values[field.key]}
            error=${errors.byField[`config.${field.key}`]}
            onChange=${(value) => setValues((current) => ({ ...current, [field.key]: value }))} />`)}
        <div class="actions">
          <button type="submit" disabled=${busy}>${editing ? 'Save changes' : 'Create configuration'}</button>
          <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        </div>
      </form>
    </section>`;
}

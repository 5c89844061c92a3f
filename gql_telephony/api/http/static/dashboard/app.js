// The dashboard: sign-in, then the organization's configurations, kept current by organizationChanges.
import {
  forgetKey, gql, KeyRefused, storedKey, storeKey, watchChanges,
} from './api.js';
import { ConfigDetails } from './details.js';
import { ConfigForm } from './forms.js';
import { LastCheck, SeverityCounts } from './format.js';
import {
  html, render, useCallback, useEffect, useRef, useState,
} from './lib.js';
import {
  CHANGES, CONFIGS_PER_PAGE, DETAILS, OVERVIEW, VIEWER,
} from './queries.js';

const REFUSED = 'The server refused this API key. Check it and sign in again.';

// dataVersion is a decimal string that may pass 2^53: compared as BigInt, never as text or Number.
function isNewer(version, than) {
  try {
    return BigInt(version) > BigInt(than);
  } catch {
    return version !== than; // not a number after all: a different one is taken as newer
  }
}

function SignIn({ onSignedIn, refusal }) {
  const [error, setError] = useState(refusal);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  async function submit(event) {
    event.preventDefault();
    const key = input.current.value.trim();
    if (!key) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const data = await gql(key, VIEWER);
      storeKey(key);
      onSignedIn({ key, viewer: data.viewer, providers: data.telephonyProviders });
    } catch (failure) {
      setError(failure instanceof KeyRefused ? REFUSED : failure.message);
      setBusy(false);
    }
  }

  return html`
    <main class="sign-in">
      <h1>gql-telephony</h1>
      <form aria-label="Sign in" onSubmit=${submit} novalidate>
        ${error && html`<p role="alert" class="form-error">${error}</p>`}
        <label for="api-key">API key</label>
        <input id="api-key" ref=${input} type="password" autocomplete="off" spellcheck="false"
          aria-describedby="api-key-hint" />
        <p class="hint" id="api-key-hint">
          Kept in this tab only (sessionStorage) and sent in the Authorization header. <code>make run</code> prints a demo key.
        </p>
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
    </main>`;
}

function Header({ viewer, connection, onSignOut, onReconnect }) {
  const { organization, apiKey } = viewer;
  return html`
    <header class="top">
      <div class="who">
        <h1>${organization.name}</h1>
        <span class="key-label">Key: ${apiKey.label || 'unlabelled'}</span>
        ${apiKey.readOnly && html`<span class="badge read-only">Read-only</span>`}
      </div>
      <div class="session">
        <span role="status" aria-label="Connection" class="connection" data-state=${connection}>${connection}</span>
        ${connection === 'Offline' && html`<button type="button" class="secondary" onClick=${onReconnect}>Reconnect</button>`}
        <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>`;
}

function WarningsSummary({ summary }) {
  return html`
    <section aria-labelledby="warnings-heading" class="panel">
      <h2 id="warnings-heading">Warnings</h2>
      <p><${SeverityCounts} counts=${summary.bySeverity} /></p>
      ${!summary.hasDefaultOutbound && html`<p class="notice">No default outbound configuration</p>`}
    </section>`;
}

// Its own names for its paging buttons: "Next page" and "Previous page" are the numbers table's.
function ConfigPager({ connection, shownBefore, hasPrevious, onPage }) {
  const { totalCount, pageInfo, nodes } = connection;
  if (!hasPrevious && !pageInfo.hasNextPage) return null;
  const from = nodes.length ? shownBefore + 1 : shownBefore;
  return html`
    <nav class="pager" aria-label="Configuration pages">
      <button type="button" class="secondary" disabled=${!hasPrevious}
        onClick=${() => onPage(undefined)}>Previous configurations</button>
      <button type="button" class="secondary" disabled=${!pageInfo.hasNextPage}
        onClick=${() => onPage(pageInfo.endCursor)}>Next configurations</button>
      <span class="muted">${from}–${shownBefore + nodes.length} of ${totalCount}</span>
    </nav>`;
}

function ConfigTable({ configs, selectedId, onOpen }) {
  if (!configs.length) return html`<p>No configuration yet.</p>`;
  return html`
    <div class="table-scroll" tabindex="0">
      <table aria-label="Configurations">
        <thead><tr>
          <th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Default</th>
          <th scope="col">Active numbers</th><th scope="col">Warnings</th><th scope="col">Last check</th>
        </tr></thead>
        <tbody>${configs.map((config) => html`
          <tr data-config-id=${config.id} key=${config.id} class=${config.id === selectedId ? 'selected' : ''}>
            <td><button type="button" class="link" aria-current=${config.id === selectedId ? 'true' : undefined}
              onClick=${() => onOpen(config.id)}>${config.name}</button></td>
            <td>${config.providerMetadata.name}</td>
            <td>${config.isDefaultOutbound && html`<span class="badge default">Default</span>`}</td>
            <td>${config.phoneNumberCount}</td>
            <td><${SeverityCounts} counts=${config.warningCountsBySeverity} /></td>
            <td><${LastCheck} check=${config.providerCheck} /></td>
          </tr>`)}
        </tbody>
      </table>
    </div>`;
}

function Dashboard({ session, onSignOut, onRefused }) {
  const { key, providers } = session;
  const [viewer, setViewer] = useState(session.viewer);
  const [overview, setOverview] = useState(null);
  const [selectedId, setSelectedId] = useState(null);
  const [details, setDetails] = useState(null);
  // Writes this page made, and how many of them the shown details were read after: the edit form
  // opens only on details read after the last write, or its expectedVersion (and its values)
  // would be those from before that write, and saving would meet a CONFLICT of the page's own making.
  const writes = useRef(0);
  const [detailsAfterWrites, setDetailsAfterWrites] = useState(0);
  const [pages, setPages] = useState([null]); // the `after` cursor of each page seen so far
  const [configPages, setConfigPages] = useState([null]); // the same, for the configurations table
  const [mode, setMode] = useState('view'); // 'view', 'create' or 'edit'
  const [connection, setConnection] = useState('Connecting…');
  const [status, setStatus] = useState('');
  const [alert, setAlert] = useState('');
  const [socketRound, setSocketRound] = useState(0);
  const readOnly = viewer.apiKey.readOnly;
  const shown = useRef({});
  shown.current = { selectedId, after: pages[pages.length - 1] };
  const configsAfter = useRef(null);
  configsAfter.current = configPages[configPages.length - 1];

  const notify = useCallback((text) => {
    setAlert('');
    setStatus('');
    setTimeout(() => setStatus(text), 50); // a new node's text, so the same message is announced again
  }, []);
  const fail = useCallback((failure) => {
    if (failure instanceof KeyRefused) onRefused();
    else setAlert(failure.message || String(failure));
  }, [onRefused]);

  // Each read of the details takes a ticket: an answer that arrives after a newer read was asked
  // for (another configuration opened, another page, a later refresh) is dropped.
  const detailsTicket = useRef(0);
  const loadDetails = useCallback(async (id, after) => {
    const ticket = ++detailsTicket.current;
    const writesBefore = writes.current;
    if (!id) {
      setDetails(null);
      return;
    }
    const data = await gql(key, DETAILS, { id, after });
    if (ticket !== detailsTicket.current) return;
    if (!data.telephonyConfig) {
      setSelectedId(null);
      setDetails(null);
      setMode('view');
      notify('The configuration you had open was deleted.');
      return;
    }
    setDetails(data.telephonyConfig);
    setDetailsAfterWrites(writesBefore);
  }, [key, notify]);

  const latest = useRef(0);
  const readFailed = useRef(false);
  // The newest dataVersion the subscription has sent, and the last one a read was repeated for
  // (once each: a version the reads never reach does not make them loop).
  const versionSeen = useRef(null);
  const versionChased = useRef(null);
  const refresh = useCallback(async () => {
    const round = ++latest.current; // answers to an older refresh that arrive late are dropped
    try {
      const { selectedId: id, after } = shown.current;
      const [data] = await Promise.all([gql(key, OVERVIEW, { after: configsAfter.current }), loadDetails(id, after)]);
      readFailed.current = false;
      if (round !== latest.current) return;
      if (!data.telephonyConfigs.nodes.length && configsAfter.current !== null) {
        // Its page emptied (configurations deleted elsewhere): back to the first page.
        configsAfter.current = null;
        setConfigPages([null]);
        refresh();
        return;
      }
      setViewer(data.viewer);
      setOverview(data);
      // A change the subscription told of before this read was answered, that the read missed.
      const seen = versionSeen.current;
      if (seen !== null && seen !== versionChased.current && isNewer(seen, data.viewer.organization.dataVersion)) {
        versionChased.current = seen;
        refresh();
      }
    } catch (failure) {
      readFailed.current = true;
      fail(failure);
    }
  }, [key, loadDetails, fail]);

  useEffect(() => { refresh(); }, [refresh]);

  // Live updates: the first message is the current state; each later one (a resubscription's or
  // reconnection's first included: changes may have been missed meanwhile) means "something
  // changed", and the page reads again what it shows. The very first is compared with the version
  // the page read, for a change made between that read and the subscription, and reads again if
  // that read failed. When it comes before any read was answered, its version is kept and the
  // read compares it when it is answered (in refresh).
  const versionRead = useRef(null);
  versionRead.current = overview?.viewer.organization.dataVersion ?? null;
  useEffect(() => {
    let first = true;
    const stop = watchChanges(key, CHANGES, {
      onState: setConnection,
      onRefused,
      onMessage: (change) => {
        if (versionSeen.current === null || isNewer(change.dataVersion, versionSeen.current)) {
          versionSeen.current = change.dataVersion;
        }
        const missed = versionRead.current !== null && isNewer(change.dataVersion, versionRead.current);
        if (!first || missed || readFailed.current) refresh();
        first = false;
      },
    });
    // The browser knows before the socket does; back online, a fresh socket rather than waiting
    // out the current retry.
    const offline = () => setConnection('Offline');
    const online = () => setSocketRound((round) => round + 1);
    window.addEventListener('offline', offline);
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', online);
      stop();
    };
  }, [key, refresh, onRefused, socketRound]);

  // "5 minutes ago" stays true: a render each minute.
  const [, setMinute] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setMinute((minute) => minute + 1), 60_000);
    return () => clearInterval(timer);
  }, []);

  function open(id) {
    shown.current = { selectedId: id, after: null };
    setSelectedId(id);
    setPages([null]);
    setMode('view');
    setDetails(null);
    loadDetails(id, null).catch(fail);
  }

  function page(after) {
    const next = after === undefined ? pages.slice(0, -1) : [...pages, after];
    setPages(next);
    shown.current = { selectedId, after: next[next.length - 1] };
    loadDetails(selectedId, next[next.length - 1]).catch(fail);
  }

  function pageConfigs(after) {
    const next = after === undefined ? configPages.slice(0, -1) : [...configPages, after];
    setConfigPages(next);
    configsAfter.current = next[next.length - 1];
    refresh();
  }

  async function saved(id, message) {
    writes.current += 1;
    notify(message);
    setMode('view');
    if (id === null) { // deleted: nothing is open any more
      shown.current = { selectedId: null, after: null };
      setSelectedId(null);
      setDetails(null);
      setPages([null]);
    } else if (id !== selectedId) {
      open(id);
    }
    await refresh();
  }

  const configs = overview?.telephonyConfigs.nodes ?? [];
  return html`
    <${Header} viewer=${viewer} connection=${connection} onSignOut=${onSignOut}
      onReconnect=${() => setSocketRound((round) => round + 1)} />
    <div role="status" aria-label="Notifications" class="notifications">${status}</div>
    ${alert && html`<div role="alert" class="alert">${alert}
      <button type="button" class="secondary" onClick=${() => setAlert('')}>Dismiss</button></div>`}
    <main class="layout">
      ${overview ? html`
        <${WarningsSummary} summary=${overview.telephonyConfigWarnings} />
        <section aria-labelledby="configs-heading" class="panel">
          <div class="section-head">
            <h2 id="configs-heading">Configurations</h2>
            ${!readOnly && mode !== 'create' && html`
              <button type="button" onClick=${() => setMode('create')}>New configuration</button>`}
          </div>
          <${ConfigTable} configs=${configs} selectedId=${selectedId} onOpen=${open} />
          <${ConfigPager} connection=${overview.telephonyConfigs} shownBefore=${(configPages.length - 1) * CONFIGS_PER_PAGE}
            hasPrevious=${configPages.length > 1} onPage=${pageConfigs} />
        </section>` : html`<p class="loading">Loading…</p>`}
      ${mode === 'create' && html`
        <${ConfigForm} key="create" session=${session} providers=${providers}
          onDone=${saved} onCancel=${() => setMode('view')} onFailure=${fail} />`}
      ${mode === 'edit' && details && detailsAfterWrites < writes.current && html`<p class="loading">Loading…</p>`}
      ${mode === 'edit' && details && detailsAfterWrites >= writes.current && html`
        <${ConfigForm} key=${`edit-${details.id}`} session=${session} providers=${providers} config=${details}
          onDone=${saved} onCancel=${() => setMode('view')} onFailure=${fail}
          onReload=${() => loadDetails(details.id, shown.current.after).catch(fail)} />`}
      ${mode === 'view' && details && html`
        <${ConfigDetails} key=${details.id} session=${session} config=${details} readOnly=${readOnly}
          hasPrevious=${pages.length > 1} onPage=${page} onEdit=${() => setMode('edit')}
          onChanged=${saved} onFailure=${fail} notify=${notify} />`}
    </main>`;
}

function App() {
  const [session, setSession] = useState(null);
  const [refusal, setRefusal] = useState(null);
  const [checking, setChecking] = useState(Boolean(storedKey()));

  // A key from earlier in this tab: check it once, then go straight to the dashboard.
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    gql(key, VIEWER)
      .then((data) => setSession({ key, viewer: data.viewer, providers: data.telephonyProviders }))
      .catch((failure) => {
        if (failure instanceof KeyRefused) {
          forgetKey();
          setRefusal(REFUSED);
        } else {
          setRefusal(failure.message);
        }
      })
      .finally(() => setChecking(false));
  }, []);

  const signOut = useCallback(() => {
    forgetKey();
    setRefusal(null);
    setSession(null);
  }, []);
  const refused = useCallback(() => {
    forgetKey();
    setRefusal(REFUSED);
    setSession(null);
  }, []);

  if (checking) return html`<p class="loading">Signing in…</p>`;
  if (!session) {
    return html`<${SignIn} refusal=${refusal} onSignedIn=${(signedIn) => { setRefusal(null); setSession(signedIn); }} />`;
  }
  return html`<${Dashboard} session=${session} onSignOut=${signOut} onRefused=${refused} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);

// The public GraphQL API, as any client uses it: POST /graphql with the key in the Authorization
// header, and the WebSocket /graphql (graphql-transport-ws) with the key in connection_init.
import { createClient } from './lib.js';

const KEY_ITEM = 'gql-telephony.apiKey';

// graphql-ws rejects a promise of its own with the CloseEvent when a socket still connecting is
// disposed (signing out at that moment); nothing waits on it, and the page has nothing to do.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof CloseEvent) event.preventDefault();
});

// The key lives in sessionStorage only: gone with the tab, never in localStorage, a cookie or the URL.
export const storedKey = () => sessionStorage.getItem(KEY_ITEM);
export const storeKey = (key) => sessionStorage.setItem(KEY_ITEM, key);
export const forgetKey = () => sessionStorage.removeItem(KEY_ITEM);

// The key was refused (HTTP 401, or a socket closed with 4401/4403): the page signs out.
export class KeyRefused extends Error {}

// A request that got no data: GraphQL errors, an HTTP failure, or no answer at all.
export class RequestFailed extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function gql(key, query, variables = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new RequestFailed('The server did not answer. Check the connection and try again.', 'NETWORK');
  }
  if (response.status === 401) throw new KeyRefused('The server refused this API key.');
  let body;
  try {
    body = await response.json();
  } catch {
    throw new RequestFailed(`The server answered ${response.status} without a GraphQL response.`, 'HTTP');
  }
  const errors = body.errors || [];
  if (errors.some((error) => error.extensions?.code === 'UNAUTHENTICATED')) {
    throw new KeyRefused('The server refused this API key.');
  }
  if (errors.length || !body.data) {
    const first = errors[0] || {};
    throw new RequestFailed(first.message || `The server answered ${response.status}.`, first.extensions?.code);
  }
  return body.data;
}

// A mutation's payload; its userErrors are returned, not thrown (a form shows them).
export async function mutate(key, query, input) {
  const data = await gql(key, query, { input });
  return Object.values(data)[0];
}

// About five minutes of tries, then "Offline" and a button to try again. The wait doubles from
// one second up to five (a restarting server is back within a try or two), with some jitter so
// that pages do not all come back at once. The same count and waits serve both ways a
// subscription is lost: the socket closing (graphql-ws reconnects it), and the server ending the
// subscription on an open socket (an `error` message, a `next` with errors, a `complete` nobody
// asked for: a database blip on the server), after which the page subscribes again itself.
const RETRY_ATTEMPTS = 60;
const waitBefore = (retries) => Math.min(5000, 1000 * 2 ** retries) * (0.75 + Math.random() / 2);
const retryWait = (retries) => new Promise((resolve) => { setTimeout(resolve, waitBefore(retries)); });
const REFUSED_CODES = new Set([4401, 4403]);
const refusedIn = (errors) => errors.some((error) => error?.extensions?.code === 'UNAUTHENTICATED');

// Subscribes to the organization's changes. `onState` gets 'Connecting…', 'Live', 'Reconnecting…' or
// 'Offline'; `onMessage` each organizationChanges value; `onRefused` when
// the key is refused. Returns a function that closes the socket.
export function watchChanges(key, query, { onState, onMessage, onRefused }) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  let closedByUs = false;
  // The same state again changes nothing on the page (a state hook ignores an equal value), so
  // each change is announced once; the page may also set "Offline" itself when the browser says so.
  const announce = (next) => {
    if (!closedByUs) onState(next);
  };
  // Tries since the last message that carried data: socket reconnections and new subscriptions alike.
  let tries = 0;
  let lost = false; // the server ended the subscription; "Live" waits for the next one's first message
  let timer = null;
  let unsubscribe = () => {};

  const client = createClient({
    url: `${scheme}//${window.location.host}/graphql`,
    connectionParams: { Authorization: `Bearer ${key}` },
    lazy: false,
    onNonLazyError: () => {}, // the subscription's own error handler decides what the page shows
    keepAlive: 15_000,
    retryAttempts: RETRY_ATTEMPTS,
    retryWait,
    // Retry whatever closed the socket, except a refused key (asking again would not help).
    shouldRetry: (event) => !(event && REFUSED_CODES.has(event.code)),
    on: {
      connecting: (isRetry) => {
        if (isRetry) tries += 1;
        announce(isRetry ? 'Reconnecting…' : 'Connecting…');
      },
      connected: () => announce(lost ? 'Reconnecting…' : 'Live'),
      closed: (event) => {
        if (closedByUs) return;
        if (event && REFUSED_CODES.has(event.code)) onRefused();
        else announce('Reconnecting…');
      },
    },
  });

  // The subscription ended without the page asking: subscribe again after a wait, or give up
  // ("Offline") once the tries are spent.
  function resubscribe() {
    if (closedByUs) return;
    lost = true;
    if (tries >= RETRY_ATTEMPTS) {
      announce('Offline');
      return;
    }
    announce('Reconnecting…');
    clearTimeout(timer);
    timer = setTimeout(() => subscribe(), waitBefore(tries));
    tries += 1;
  }

  function subscribe() {
    let over = false; // this subscription's end was handled: graphql-ws's later complete is ignored
    const end = (refused) => {
      if (over) return;
      over = true;
      unsubscribe();
      if (refused) onRefused();
      else resubscribe();
    };
    unsubscribe = client.subscribe({ query }, {
      next: (message) => {
        if (over) return;
        const errors = message.errors || [];
        if (errors.length || !message.data) {
          end(refusedIn(errors));
          return;
        }
        tries = 0;
        lost = false;
        announce('Live');
        onMessage(message.data.organizationChanges);
      },
      error: (error) => {
        if (over || closedByUs) return;
        if (Array.isArray(error)) { // an `error` message: the server refused this operation
          end(refusedIn(error));
          return;
        }
        // The socket closed for good: a refused key (`closed` signed out already), the retries
        // spent, or a close graphql-ws does not retry (tried again here while tries remain).
        over = true;
        if (error && REFUSED_CODES.has(error.code)) return;
        resubscribe();
      },
      complete: () => end(false),
    });
  }
  subscribe();

  return () => {
    closedByUs = true;
    clearTimeout(timer);
    unsubscribe();
    client.dispose();
  };
}

// The public GraphQL API, as any client uses it: POST /graphql with the key in the Authorization
// header, and the WebSocket /graphql (graphql-transport-ws) with the key in connection_init.
import { createClient } from './lib.js';

const KEY_ITEM = 'gql-telephony.apiKey';

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
// that pages do not all come back at once.
const RETRY_ATTEMPTS = 60;
const retryWait = (retries) => new Promise((resolve) => {
  setTimeout(resolve, Math.min(5000, 1000 * 2 ** retries) * (0.75 + Math.random() / 2));
});
const REFUSED_CODES = new Set([4401, 4403]);

// Subscribes to the organization's changes. `onState` gets 'Connecting…', 'Live', 'Reconnecting…' or
// 'Offline'; `onMessage` each organizationChanges value; `onRefused` when the key is refused.
// Returns a function that closes the socket.
export function watchChanges(key, query, { onState, onMessage, onRefused }) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  let closedByUs = false;
  const client = createClient({
    url: `${scheme}//${window.location.host}/graphql`,
    connectionParams: { Authorization: `Bearer ${key}` },
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: RETRY_ATTEMPTS,
    retryWait,
    // Retry whatever closed the socket, except a refused key (asking again would not help).
    shouldRetry: (event) => !(event && REFUSED_CODES.has(event.code)),
    on: {
      connecting: (isRetry) => onState(isRetry ? 'Reconnecting…' : 'Connecting…'),
      connected: () => onState('Live'),
      closed: (event) => {
        if (closedByUs) return;
        if (event && REFUSED_CODES.has(event.code)) onRefused();
        else onState('Reconnecting…');
      },
    },
  });
  client.subscribe({ query }, {
    next: (message) => {
      if (message.data) onMessage(message.data.organizationChanges);
    },
    error: () => { if (!closedByUs) onState('Offline'); }, // the retries ran out, or the server refused it
    complete: () => { if (!closedByUs) onState('Offline'); },
  });
  return () => {
    closedByUs = true;
    client.dispose();
  };
}

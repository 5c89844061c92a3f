// The vendored libraries, imported in one place so a new version changes one file
// (tools/vendor_dashboard.py writes them; their names hold their versions).
// graphql-ws's browser build is a classic script that defines `graphqlWs` on the global object.
import './vendor/graphql-ws-6.4.2.umd.min.js';
import { h, render } from './vendor/preact-11.2.0.module.js';
import htm from './vendor/htm-3.1.1.module.js';

export { render };
export { useCallback, useEffect, useMemo, useRef, useState } from './vendor/preact-11.2.0-hooks.module.js';

// Templates are tagged strings: html`<p>${text}</p>` builds Preact elements, no build step.
export const html = htm.bind(h);
export const { createClient } = globalThis.graphqlWs;

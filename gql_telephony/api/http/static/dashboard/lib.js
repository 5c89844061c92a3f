// The vendored libraries, imported in one place so a new version changes one file
// (tools/vendor_dashboard.py writes them; their names hold their versions).
// graphql-ws's browser build is a classic script that defines `graphqlWs` on the global object.
import './vendor/graphql-ws-6.4.2.umd.min.js';

export {
  html, render, useCallback, useEffect, useMemo, useRef, useState,
} from './vendor/htm-3.1.1-preact-standalone.module.js';

export const { createClient } = globalThis.graphqlWs;

// Runs graphql-http's GraphQL-over-HTTP audits against a live server and prints one JSON report.
// Usage: node audit.mjs URL   (the API key comes from GQL_TELEPHONY_AUDIT_KEY)
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const key = process.env.GQL_TELEPHONY_AUDIT_KEY;
if (!url || !key) {
  console.error('usage: GQL_TELEPHONY_AUDIT_KEY=KEY node audit.mjs URL');
  process.exit(2);
}

// Every audit request carries the API key, as any client of this API must send it.
function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithKey });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    const response = result.response;
    entry.response = {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: (await response.text()).slice(0, 1000),
    };
  }
  report.push(entry);
}
process.stdout.write(JSON.stringify(report) + '\n');

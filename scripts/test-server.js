#!/usr/bin/env node
// npm run test-server [-- --port P --data DIR --no-lock --latency MS --verbose]
//
// Runs the embedded FerretDB test server (test/server) in the foreground, building it
// first if needed. The first stdout line is `MONGODB_URI=<uri>`; Ctrl-C (or SIGTERM)
// stops it cleanly. Plain JavaScript, so it needs no TypeScript build.
import { parseArgs } from 'node:util';
import { startTestServer } from '../test/support/server.js';

const usage = 'usage: npm run test-server [-- --port P --data DIR --no-lock --latency MS --verbose]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      'no-lock': { type: 'boolean' },
      latency: { type: 'string' }, // ms each request is held before it is forwarded (a round trip)
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, not "${values.port}"\n${usage}`);
  process.exit(2);
}

const latencyMs = values.latency === undefined ? 0 : Number(values.latency);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  console.error(`--latency must be milliseconds, not "${values.latency}"\n${usage}`);
  process.exit(2);
}

let server;
let signalled = false;
const onSignal = async (signal) => {
  if (signalled) return;
  signalled = true;
  await server?.stop();
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
// Registered before the (possibly slow) build so an early Ctrl-C still stops cleanly;
// a server still starting then exits by itself when our end of its stdin closes.
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  server = await startTestServer({ port, data: values.data, noLock: values['no-lock'], verbose: values.verbose, latencyMs });
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
console.log(`MONGODB_URI=${server.uri}`);
console.error(
  `test server running (pid ${server.pid}${values.data ? `, data in ${values.data}` : ''}${values['no-lock'] ? ', NO lock' : ''}${latencyMs ? `, ${latencyMs} ms latency` : ''}); Ctrl-C stops it`,
);
const { code, signal } = await server.exited;
if (!signalled) {
  console.error(`test server exited unexpectedly (${signal ?? `exit ${code}`})`);
  process.exit(1);
}

// vitest globalSetup: pick one MongoDB-compatible server for the whole run (see
// test/server/README.md for the order), hand its URI to the tests, stop it at the end.
//
// Tests read it with `inject('mongodbUri')` (or use test/support/kitchen.ts).
// The embedded FerretDB server also exits by itself when this process dies (its
// stdin is a pipe from us), so an interrupted run leaves nothing behind.
import type { TestProject } from 'vitest/node';
import { pickServer, redactUri, type ServerKind } from './support/server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the server picked for this run (no database name in it). */
    mongodbUri: string;
    /** Which server that is: MONGODB_URI from the environment, a real mongod, or FerretDB. */
    mongodbServerKind: ServerKind;
  }
}

const describeKind: Record<ServerKind, string> = {
  MONGODB_URI: 'MONGODB_URI from the environment',
  mongod: 'mongod (mongodb-memory-server)',
  ferretdb: 'embedded FerretDB test server',
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await pickServer();
  const note = server.note ? ` (${server.note})` : '';
  console.log(`waiter tests: using ${describeKind[server.kind]} at ${redactUri(server.uri)}${note}`);
  project.provide('mongodbUri', server.uri);
  project.provide('mongodbServerKind', server.kind);
  return async () => {
    await server.stop();
  };
}

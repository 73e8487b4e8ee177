// Types for server.js (kept as plain JS so scripts/test-server.js needs no build step).
import type { ChildProcess } from 'node:child_process';

export type ServerKind = 'MONGODB_URI' | 'mongod' | 'ferretdb';

export interface TestServerOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Directory for the SQLite files; default: a temp dir the server removes on exit. */
  data?: string;
  /** Do not serialise commands: shows FerretDB v1's own non-atomic findAndModify. */
  noLock?: boolean;
  /** Hold each request this long before forwarding it (outside the lock): a network round trip, for benchmarks. */
  latencyMs?: number;
  /** Pass --verbose and copy the server's stderr to ours. */
  verbose?: boolean;
  /** What starts its messages (default `waiter tests`; the demo's are `waiter demo`). */
  label?: string;
}

export interface TestServer {
  /** `mongodb://127.0.0.1:PORT/` */
  uri: string;
  pid: number | undefined;
  /** SIGTERM, wait for exit (SIGKILL after 5 s). Safe to call more than once. */
  stop(): Promise<void>;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  process: ChildProcess;
}

export interface PickedServer {
  uri: string;
  kind: ServerKind;
  /** Why this kind was chosen when it is not the first choice, e.g. "no mongod: ...". */
  note?: string;
  /** Stops the server if this process started it; a no-op for MONGODB_URI. */
  stop(): Promise<void>;
}

/** Where the binary for the current test/server sources is cached (built or not). */
export function testServerBinaryPath(): string;
/** Builds test/server into node_modules/.cache/waiter-testserver/<hash>/ once; resolves to its path. */
export function buildTestServer(label?: string): Promise<string>;
/** Starts the embedded FerretDB test server; resolves once it accepts connections. */
export function startTestServer(options?: TestServerOptions): Promise<TestServer>;
/** How long the mongod lookup may take by default (ms). */
export const MONGOD_LOOKUP_TIMEOUT_MS: number;
/** WAITER_MONGOD_TIMEOUT_MS if set, else `fallback` (default MONGOD_LOOKUP_TIMEOUT_MS). */
export function mongodLookupTimeoutMs(fallback?: number): number;
/** A mongod binary as mongodb-memory-server finds it (PATH, its cache, a download), given timeoutMs; else why not. */
export function locateMongod(timeoutMs: number): Promise<{ path: string; why?: undefined } | { path?: undefined; why: string }>;
/** A throw-away mongod (mongodb-memory-server) from that binary. */
export function startMongod(binaryPath: string): Promise<{ uri: string; stop(): Promise<void> }>;
/** MONGODB_URI → mongod (mongodb-memory-server) → embedded FerretDB; WAITER_TEST_SERVER=ferretdb|mongod forces. */
export function pickServer(): Promise<PickedServer>;
/** The URI with any user:password replaced by ***:***, for printing. */
export function redactUri(uri: string): string;
/** True if the test server binary is cached or `go` is on PATH to build it. */
export function goAvailable(): boolean;
/** A free port on 127.0.0.1 below the ephemeral range: for a server a test restarts on the same port. */
export function restartablePort(): Promise<number>;

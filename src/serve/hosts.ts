// Which Host (and, for writes, Origin) a server answers: against DNS rebinding, where a
// page on another site rebinds its own name to this server's address. The browser then
// sends that site's name as Host and Origin, so a server that answers only its own
// names gives such a page nothing.
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { UsageError } from '../errors.js';
import { HttpError } from './input.js';

/**
 * 0.0.0.0, :: and ::ffff:0.0.0.0 (however spelled): every address of the machine, so not
 * a name anyone reaches it by. Other spellings (0, 0x0) are names to this test: serve
 * checks the address listened on too.
 */
export function isUnspecified(bind: string): boolean {
  const h = bind.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === '0.0.0.0') return true;
  if (isIP(h) !== 6) return false;
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::]' || canonical === '[::ffff:0:0]';
}

const NAME = /^([a-z0-9_-]+(\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(:(\d{1,5}))?$/;

/**
 * --host-name values (repeated, or comma lists): lower-case `name` or `name:port`
 * (an IPv6 address in brackets; bare IPv6 is bracketed here).
 */
export function hostNames(values: unknown): string[] {
  if (values === undefined) return [];
  const list = (Array.isArray(values) ? values : [values]).flatMap((v) => String(v).split(','));
  return list.map((raw) => {
    let name = raw.trim().toLowerCase();
    if (isIP(name) === 6) name = `[${name}]`;
    const m = NAME.exec(name);
    if (!m || (m[4] !== undefined && (Number(m[4]) < 1 || Number(m[4]) > 65535))) {
      throw new UsageError(`--host-name: '${raw.trim()}' is not a host name (a name or address as in the server's URL, optionally with :port)`);
    }
    return name;
  });
}

/** A name given with its own port (a reverse proxy's), or none. */
const portOf = (name: string) => /:(\d+)$/.exec(name.replace(/^\[[^\]]*\]/, ''))?.[1];

/**
 * The Host values a server on `port` answers, or undefined for any Host.
 *
 * On loopback: its bind address, localhost, 127.0.0.1 and [::1], and the --host-name
 * names (a reverse proxy on this machine), always. Beyond loopback: the --host-name
 * names, the bind address when it is one address (not 0.0.0.0 or ::) and the loopback
 * names; checked when names were given or reads are open (--public-read). With a token
 * on every read and no names, any Host goes: a rebinding page cannot read without the token.
 *
 * A name is answered with the port listened on (and without a port on port 80); a name
 * given with its own port (proxy.example:443) with that port (and without, on 80 or 443,
 * as browsers omit the scheme's default port).
 */
export function allowedHosts(o: { bind: string; port: number; names: string[]; loopback: boolean; publicRead: boolean }): ReadonlySet<string> | undefined {
  if (!o.loopback && o.names.length === 0 && !o.publicRead) return undefined;
  const b = o.bind.replace(/^\[|\]$/g, '').toLowerCase();
  const bind = isUnspecified(b) ? [] : [isIP(b) === 6 ? `[${b}]` : b];
  const hosts = new Set<string>();
  for (const n of ['localhost', '127.0.0.1', '[::1]', ...bind, ...o.names]) {
    const own = portOf(n);
    if (own !== undefined) {
      hosts.add(n);
      if (own === '80' || own === '443') hosts.add(n.slice(0, -own.length - 1));
    } else {
      hosts.add(`${n}:${o.port}`);
      if (o.port === 80) hosts.add(n);
    }
  }
  return hosts;
}

/**
 * The URL to print, one the server answers: beyond loopback the first --host-name without
 * a port of its own, else the first with its own (a reverse proxy's: https on 443, bare
 * on 80); else the bind address, or 127.0.0.1 for every address (0.0.0.0 and :: are no
 * address to reach, and the Host check refuses them).
 */
export function printedUrl(o: { bind: string; port: number; names: string[]; loopback: boolean }): string {
  if (!o.loopback && o.names.length > 0) {
    const name = o.names.find((n) => portOf(n) === undefined);
    if (name !== undefined) return `http://${name}:${o.port}/`;
    const proxy = o.names[0]!;
    const own = portOf(proxy)!;
    const bare = proxy.slice(0, -own.length - 1);
    return own === '443' ? `https://${bare}/` : own === '80' ? `http://${bare}/` : `http://${proxy}/`;
  }
  const b = o.bind.replace(/^\[|\]$/g, '');
  const host = isUnspecified(b) ? '127.0.0.1' : isIP(b) === 6 ? `[${b}]` : b;
  return `http://${host}:${o.port}/`;
}

/**
 * Refuses a request whose Host is not one of the server's names (421 Misdirected
 * Request: the target is not this server's to answer), and a write whose Origin, when
 * sent, is another site (403: the right server, refusing to act for that page).
 * `hosts()` is read per request: the set is known once the port is (--port 0).
 */
export function hostGuard(hosts: () => ReadonlySet<string> | undefined): MiddlewareHandler {
  return async (c, next) => {
    const allowed = hosts();
    if (allowed) {
      const host = (c.req.header('host') ?? '').toLowerCase();
      if (!allowed.has(host)) {
        throw new HttpError(421, `Host ${JSON.stringify(host.slice(0, 100))} is not this server's: use the URL waiter serve printed`);
      }
      const origin = c.req.header('origin');
      if (origin !== undefined && !SAFE.has(c.req.method) && !allowed.has(originHost(origin))) {
        throw new HttpError(403, `Origin ${JSON.stringify(origin.slice(0, 100))} is not this server's: writes are taken from its own page or from clients that send no Origin`);
      }
    }
    await next();
  };
}

/** Methods that change nothing (RFC 9110 9.2.1): a CORS preflight (OPTIONS) is one. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** host[:port] of an Origin as browsers serialize it (no default port); '' if not one. */
function originHost(origin: string): string {
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.host.toLowerCase() : '';
  } catch {
    return '';
  }
}

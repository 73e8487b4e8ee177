// Connecting, and what messages may say of the URI (never its password).
import { CommaAndColonSeparatedRecord, ConnectionString } from 'mongodb-connection-string-url';
import type { KitchenAddress } from '../kitchen.js';

/** Our defaults, except those the URI sets itself (the driver lets options override the URI). */
export function defaultsNotIn<T extends Record<string, unknown>>(uri: string, defaults: T): Partial<T> {
  let inUri: string[] = [];
  try {
    inUri = [...new ConnectionString(uri).searchParams.keys()].map((key) => key.toLowerCase());
  } catch {
    // The driver reports a bad URI itself.
  }
  return Object.fromEntries(Object.entries(defaults).filter(([key]) => !inUri.includes(key.toLowerCase()))) as Partial<T>;
}

/** `host[,host2]/db` for messages: never the user name or password. */
export function describe(address: KitchenAddress): string {
  try {
    const cs = new ConnectionString(address.uri);
    return `${cs.hosts.join(',')}/${address.db}`;
  } catch {
    return `(unparseable kitchen URI)/${address.db}`;
  }
}

/** The driver's message, with any secret from the URI taken out. */
export function reason(err: unknown, uri: string): string {
  let msg = err instanceof Error ? err.message : String(err);
  let secrets: string[];
  try {
    secrets = [uri, ...secretsOf(uri)];
  } catch {
    secrets = [uri];
  }
  for (const secret of secrets) msg = msg.split(secret).join('***');
  return msg;
}

/** The query options that hold a secret (those the driver's own redact() hides). */
const SECRET_OPTIONS = ['proxyPassword', 'tlsCertificateKeyFilePassword'];

/**
 * The secrets a URI holds: its password, a proxy or key-file password, an AWS session
 * token, each as written, percent-decoded and percent-encoded (a job prints any of them). The user name
 * is no secret, and hiding it (a user "u") would mangle every word with a u. Throws on
 * a URI the parser refuses.
 */
export function secretsOf(uri: string): string[] {
  const cs = new ConnectionString(uri);
  const raw = [cs.password];
  for (const key of SECRET_OPTIONS) raw.push(...cs.searchParams.getAll(key));
  const props = cs.searchParams.get('authMechanismProperties');
  if (props) raw.push(new CommaAndColonSeparatedRecord(props).get('AWS_SESSION_TOKEN') ?? '');
  return [...new Set(raw.flatMap((s) => [s, safeDecode(s), encodeURIComponent(s)]).filter((s) => s !== ''))];
}

/** The URI with every secret shown as *** (the user name kept); the URI itself when it holds none or cannot be parsed. */
export function withoutSecrets(uri: string): string {
  try {
    if (secretsOf(uri).length === 0) return uri;
    return new ConnectionString(uri).redact({ replacementString: '***', redactUsernames: false }).toString();
  } catch {
    return uri;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}


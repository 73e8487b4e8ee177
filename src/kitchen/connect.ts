// Connecting, and what messages may say of the URI (never its password).
import { CommaAndColonSeparatedRecord, ConnectionString } from 'mongodb-connection-string-url';

/** Where the list is: the URI (--kitchen), the database and the list's collection. */
export interface KitchenAddress {
  uri: string;
  db: string;
  list: string;
}

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
 * token, in every form a job may print: as written, percent-decoded, and encoded again
 * (either hex case, a space as %20 or +). A query option's value as written too, and as
 * the driver reads it (+ is a space). The user name is no secret, and hiding it (a user
 * "u") would mangle every word with a u. Throws on a URI the parser refuses.
 */
export function secretsOf(uri: string): string[] {
  const cs = new ConnectionString(uri);
  const raw = [cs.password];
  const secretOption = (key: string) => SECRET_OPTIONS.some((k) => k.toLowerCase() === key.toLowerCase());
  for (const [key, value] of cs.searchParams) if (secretOption(key)) raw.push(value);
  for (const pair of cs.search.replace(/^\?/, '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && secretOption(safeDecode(pair.slice(0, eq)))) raw.push(pair.slice(eq + 1));
  }
  const props = cs.searchParams.get('authMechanismProperties');
  if (props) raw.push(new CommaAndColonSeparatedRecord(props).get('AWS_SESSION_TOKEN') ?? '');
  return [...new Set(raw.flatMap(formsOf).filter((s) => s !== ''))];
}

/** A secret as written, decoded, and encoded again in the ways printers write it. */
function formsOf(written: string): string[] {
  const decoded = safeDecode(written);
  const encoded = encodeURIComponent(decoded);
  const hex = (s: string, f: (h: string) => string) => s.replace(/%[0-9a-f]{2}/gi, f);
  return [
    written,
    decoded,
    encoded,
    encoded.replace(/%20/g, '+'),
    hex(encoded, (h) => h.toLowerCase()),
    hex(written, (h) => h.toUpperCase()),
    hex(written, (h) => h.toLowerCase()),
  ];
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

// Connecting, and what messages may say of the URI (never its password).
import { ConnectionString } from 'mongodb-connection-string-url';
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
  try {
    // The password, as written and decoded; the user name is no secret, and hiding
    // it (a user "u") would mangle the message's words.
    const cs = new ConnectionString(uri);
    for (const secret of [uri, cs.password, safeDecode(cs.password)]) {
      if (secret) msg = msg.split(secret).join('***');
    }
  } catch {
    msg = msg.split(uri).join('***');
  }
  return msg;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// Who did it (issue 26): every pause, resume and stop records `by`. The CLI's user@host;
// the API's "api <client address>" (src/serve/app.ts).
import { hostname, userInfo } from 'node:os';

/** user@host of this process: os.userInfo(), or $USER / the uid where the system has no name for it (a container's random uid). */
export function cliUser(env: NodeJS.ProcessEnv = process.env): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? env.LOGNAME ?? (process.getuid ? `uid ${process.getuid()}` : undefined);
  }
  return `${user || 'unknown'}@${hostname()}`;
}

/** The API's `by`: "api" and the client's address. */
export function apiUser(address: string | undefined): string {
  return `api ${address || 'unknown'}`;
}

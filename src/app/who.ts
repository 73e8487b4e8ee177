// Who did it and why (issue 26): every pause, resume, stop and cancel records `by` (the
// CLI's user@host; the API's "api <client address>", src/serve/app.ts) and maybe a reason.
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

/**
 * The longest reason a pause, a stop or a cancel takes (--reason, the API's "reason"), in
 * characters: it is copied onto every waiter's document (pause, stop), or onto every order a cancel
 * changes, so it is refused at the door (exit 2, HTTP 400), never cut.
 */
export const MAX_REASON = 500;

/** What is wrong with a reason ("501 characters long: at most 500"), or undefined. */
export function reasonProblem(reason: string): string | undefined {
  const n = [...reason].length;
  return n > MAX_REASON ? `${n} characters long: at most ${MAX_REASON}` : undefined;
}

// --interruption-file: a file appearing is the notice, for whatever else knows the box
// is going (a Kubernetes preStop hook, a custom scheduler, a cloud this does not know).
// It may hold the time the box goes (ISO 8601, e.g. `date -u -d +90sec +%FT%TZ`);
// otherwise the box is taken to go FILE_NOTICE_MS after the file was seen.
import { existsSync, readFileSync } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { isoTime, poll, type Notice, type Watcher } from './notice.js';

/** How often the file is looked for: a stat, nothing more. */
export const FILE_POLL_MS = 1000;
/** Without a time in the file: Kubernetes' default grace (terminationGracePeriodSeconds), and GCP's notice. */
export const FILE_NOTICE_MS = 30_000;
/** Of the file, only the start is read: a time, not a document. */
const READ_BYTES = 100;

export interface FileWatch {
  path: string;
  everyMs: number;
}

/** The notice if the file is there now (read at start, before the first claim). */
export function fileNoticeNow(path: string): Notice | undefined {
  if (!existsSync(path)) return undefined;
  let text = '';
  try {
    text = readFileSync(path, 'utf8').slice(0, READ_BYTES);
  } catch {
    // There but unreadable (a folder, no permission): a notice all the same.
  }
  return fileNotice(path, text, new Date());
}

export function watchFile(o: FileWatch, onNotice: (n: Notice) => void, failing: (err: unknown) => void): Watcher {
  const look = async (): Promise<Notice | undefined> => {
    if (
      !(await access(o.path).then(
        () => true,
        () => false,
      ))
    )
      return undefined;
    const seen = new Date();
    return fileNotice(o.path, await startOf(o.path), seen);
  };
  return poll(look, () => o.everyMs, onNotice, failing);
}

async function startOf(path: string): Promise<string> {
  try {
    const f = await open(path, 'r');
    try {
      const buf = Buffer.alloc(READ_BYTES);
      const { bytesRead } = await f.read(buf, 0, READ_BYTES, 0);
      return buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await f.close();
    }
  } catch {
    return '';
  }
}

/** The notice of a file seen at `seen` holding `text`: its time if it is one (ISO 8601 with a zone), else FILE_NOTICE_MS from now. */
export function fileNotice(path: string, text: string, seen: Date): Notice {
  const line = text.trim().split('\n')[0]!.trim();
  const t = isoTime(line);
  return { from: `file ${path}`, action: 'going away', seen, deadline: new Date(Number.isNaN(t) ? +seen + FILE_NOTICE_MS : t) };
}

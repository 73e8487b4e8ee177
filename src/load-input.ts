// load's input, read from its source exactly once: load reads its rows twice (check,
// then insert), and a pipe, FIFO, /dev/stdin or <(...) gives its bytes only once.
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoxError, InputError } from './errors.js';

/** Bytes read per call when a pass reads the input again. */
const CHUNK = 64 * 1024;

export interface LoadInput {
  /** The file name, or "stdin", for messages. */
  readonly source: string;
  /** Its size in bytes (for the progress bar). */
  readonly size: number;
  /** A fresh stream of the same bytes, from the start, each call (any number of passes). */
  open(): Readable;
  close(): Promise<void>;
}

/**
 * Opens load's input: `-` (stdin) or a path. A regular file is opened once and read
 * at offsets by every pass (so a file renamed or replaced meanwhile still gives the
 * same bytes); anything else (stdin, a pipe, a FIFO, /dev/stdin, process
 * substitution, a device) is first copied to a temporary file in $TMPDIR, mode 0600,
 * unlinked as soon as it is created: nothing is left behind, whatever ends the
 * process. The copy is a stream (bounded memory). A temporary file that cannot be
 * made or filled (no such directory, read-only, full disk) is a BoxError: the
 * kitchen has not been touched.
 */
export async function openLoadInput(file: string, stdin: Readable): Promise<LoadInput> {
  if (file === '-') return spool(stdin, 'stdin');
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw inputError(file, err);
  });
  let kept = false; // a regular file's handle is the reader's; a spooled one is done with
  try {
    const s = await fh.stat();
    if (s.isDirectory()) throw new InputError(`${file}: is a directory`);
    // A size of 0 may be a file the kernel makes as it is read (/proc): copied like a pipe.
    if (!s.isFile() || s.size === 0) return await spool(fh.createReadStream({ autoClose: false }), file);
    kept = true;
    return reader(fh, file, s.size);
  } finally {
    if (!kept) await fh.close().catch(() => undefined);
  }
}

async function spool(input: Readable, source: string): Promise<LoadInput> {
  const dir = tmpdir();
  const path = join(dir, `waiter-load-${randomBytes(8).toString('hex')}.csv`);
  const noRoom = (err: NodeJS.ErrnoException) =>
    new BoxError(`load: cannot keep a copy of ${source} in ${dir} (set TMPDIR to a writable directory with room for it): ${err.code ?? err.message}; nothing loaded`);
  const fh = await open(path, 'wx+', 0o600).catch((err: NodeJS.ErrnoException) => {
    input.destroy();
    throw noRoom(err);
  });
  try {
    await unlink(path);
    let writeError: NodeJS.ErrnoException | undefined;
    let size = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        fh.write(chunk, 0, chunk.length, size).then(
          () => {
            size += chunk.length;
            done();
          },
          (err: NodeJS.ErrnoException) => done((writeError = err)),
        );
      },
    });
    await pipeline(input, sink).catch((err: NodeJS.ErrnoException) => {
      throw writeError ? noRoom(writeError) : inputError(source, err);
    });
    return reader(fh, source, size);
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Passes over one open file, each from offset 0 to `size`; destroying a pass leaves the handle open. */
function reader(fh: FileHandle, source: string, size: number): LoadInput {
  return {
    source,
    size,
    open: () =>
      Readable.from(
        (async function* () {
          // Up to the size it had when opened: rows appended after the check (unchecked) are
          // not loaded; a file rewritten in place is caught by load's count of the rows.
          for (let pos = 0; pos < size;) {
            const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0) break; // truncated meanwhile
            pos += bytesRead;
            yield buf.subarray(0, bytesRead);
          }
          // One turn of the event loop before the end, as a read at end of file would take:
          // ended at once, csv-parse's end-of-input error overtakes the rows it still holds,
          // and parseRows names line 1 instead of the bad line (csv.ts).
          await new Promise((resolve) => setImmediate(resolve));
        })(),
        { objectMode: false },
      ),
    close: () => fh.close().catch(() => undefined),
  };
}

function inputError(source: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'ENOENT') return new InputError(`${source}: no such file`);
  if (err.code === 'EACCES') return new InputError(`${source}: permission denied`);
  if (err.code === 'EISDIR') return new InputError(`${source}: is a directory`);
  return new InputError(`${source}: cannot be read: ${err.message}`);
}

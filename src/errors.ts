// Error classes that carry their documented exit code. Only src/cli.ts turns them into
// an exit status; commands and the core just throw.
export const EXIT = {
  OK: 0,
  FAILED_ORDERS: 1,
  USAGE: 2,
  KITCHEN: 3,
  INPUT: 4,
  /** deliver: this box cannot run orders (program missing or not executable, workdir unwritable, no file descriptors); it stopped itself. */
  BOX: 5,
  /** deliver: --max-failures-in-a-row failed runs in a row; it stopped itself. */
  BREAKER: 6,
  /** A bug: an error waiter did not expect (its stack is printed). */
  INTERNAL: 70,
} as const;

export class WaiterError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad options or arguments. Exit 2. */
export class UsageError extends WaiterError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** The kitchen could not be reached or refused an operation. Exit 3. */
export class KitchenError extends WaiterError {
  constructor(message: string) {
    super(message, EXIT.KITCHEN);
  }
}

/** A malformed input file. Exit 4. */
export class InputError extends WaiterError {
  constructor(message: string) {
    super(message, EXIT.INPUT);
  }
}

/** This box cannot do the work (load: no room for its temporary copy of the input). Exit 5. */
export class BoxError extends WaiterError {
  constructor(message: string) {
    super(message, EXIT.BOX);
  }
}

/** An error's own words (a thrown non-Error as its text), for a log line or a recorded error. */
export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

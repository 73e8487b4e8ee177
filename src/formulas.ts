// Spreadsheet formulas in extract's CSV (OWASP "CSV injection"): a cell that starts with
// =, +, -, @, TAB or CR is run as a formula when the report is opened in a spreadsheet,
// and orders' arguments, names and errors come from anyone who can add orders.

/** What a spreadsheet runs, after any quotes neutralise() added before it. */
const FORMULA = /^'*[=+\-@\t\r]/;
/** A cell neutralise() wrote: one quote too many before a formula start. */
const NEUTRALISED = /^'+[=+\-@\t\r]/;
/**
 * A plain number (-5, +7, -1.5e3): it evaluates to itself, runs nothing, and a quote
 * would turn a numeric column into text in the spreadsheet. Left as it is.
 */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The cell a spreadsheet shows as text: a formula start gets a leading `'` (OWASP's
 * rule), and so does a cell that already starts with quotes before one (`'=x` becomes
 * `''=x`), so that restore() gives back exactly what was there.
 */
export function neutralise(cell: string): string {
  if (!STARTS.has(cell.charCodeAt(0))) return cell; // most cells: one lookup, no regex
  return FORMULA.test(cell) && !NUMBER.test(cell) ? `'${cell}` : cell;
}

/** The first characters FORMULA can match: ' = + - @ TAB CR. */
const STARTS = new Set([..."'=+-@\t\r"].map((c) => c.charCodeAt(0)));

/** neutralise() undone: the cell as it was (for load of a file extract marked). */
export function restore(cell: string): string {
  return cell.charCodeAt(0) === 39 && NEUTRALISED.test(cell) ? cell.slice(1) : cell;
}

/** restore() of every cell of a row, in place. */
export function restoreRow(row: string[]): string[] {
  for (let i = 0; i < row.length; i++) if (row[i]!.charCodeAt(0) === 39) row[i] = restore(row[i]!);
  return row;
}

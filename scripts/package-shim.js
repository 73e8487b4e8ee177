// Injected by scripts/package.js into the CommonJS bundle, where esbuild leaves
// import.meta empty: ESM dependencies (yargs) get this file's URL instead. In the single
// executable __filename is the executable's path (Node's SEA documentation).
import { pathToFileURL } from 'node:url';

export const __waiter_import_meta_url = pathToFileURL(__filename).href;

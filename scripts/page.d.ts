/** src/serve/page.generated.ts's path. */
export const FILE: string;
/** The page with its script and style inline, and the CSP allowing exactly those. */
export function page(): Promise<{ html: string; csp: string; directives: string[] }>;
/** The whole of src/serve/page.generated.ts, from src/serve/page/. */
export function pageModule(): Promise<string>;
/** Writes src/serve/page.generated.ts when it changed; true if it did. */
export function writePage(): Promise<boolean>;
/** Whether the committed src/serve/page.generated.ts is not what src/serve/page/ makes. */
export function stale(): Promise<boolean>;
/** esbuild's build(); rejects when esbuild cannot be loaded. */
export function esbuild(): Promise<typeof import('esbuild').build>;

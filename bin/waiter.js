#!/usr/bin/env node
import { existsSync } from 'node:fs';

// dist/bundle/ (scripts/bundle.js) starts in half the time of tsc's dist/; a build where
// esbuild could not be loaded has only the latter.
const bundle = new URL('../dist/bundle/cli.js', import.meta.url);
const { runMain } = await import(existsSync(bundle) ? bundle.href : '../dist/cli.js');

await runMain();

#!/usr/bin/env node
import { runMain } from '../dist/cli.js';

await runMain();

// esbuild plugins shared by the two bundles: dist/bundle/ (what bin/waiter.js runs,
// scripts/bundle.js) and the one-file waiter.cjs and executable (scripts/package.js).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The driver's optional dependencies (peerDependencies, all optional) and their own optional ones. */
export const OPTIONAL_ADDONS = ['kerberos', 'snappy', '@mongodb-js/zstd', 'mongodb-client-encryption', '@aws-sdk/credential-providers', 'gcp-metadata', 'socks', 'aws4'];

/**
 * The optional add-ons stay outside the bundle, loaded by name at run time. In the
 * executable, whose require() knows built-in modules only (and says so in a warning on
 * stderr), they fail as a missing module does, quietly: the driver then names the package.
 */
export function optionalAddons(root) {
  const names = new RegExp(`^(${OPTIONAL_ADDONS.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
  return {
    name: 'optional-addons',
    setup(b) {
      b.onResolve({ filter: names }, (args) => (args.namespace === 'addon' ? { path: args.path, external: true } : { path: args.path, namespace: 'addon' }));
      b.onLoad({ filter: /.*/, namespace: 'addon' }, (args) => ({
        loader: 'js',
        resolveDir: root,
        contents: `if (require('node:sea').isSea()) {
  throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}': the single executable has no native add-ons`)}), { code: 'MODULE_NOT_FOUND' });
}
module.exports = require(${JSON.stringify(args.path)});
`,
      }));
    },
  };
}

/**
 * yargs reads its translations (yargs/locales/*.json) from disk next to its own files,
 * which a single file does not have: this gives it y18n over the same files, bundled.
 * Without it the executable would speak English where `node bin/waiter.js` translates.
 */
export function yargsLocales(root) {
  const dir = join(root, 'node_modules', 'yargs', 'locales');
  const core = join(root, 'node_modules', 'y18n', 'build', 'lib', 'index.js');
  return {
    name: 'yargs-locales',
    setup(b) {
      b.onResolve({ filter: /^y18n$/ }, (args) => (args.importer.includes(`${join('yargs', 'lib', 'platform-shims')}`) ? { path: 'y18n', namespace: 'yargs-locales' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'yargs-locales' }, () => {
        const files = Object.fromEntries(
          readdirSync(dir)
            .filter((f) => f.endsWith('.json'))
            .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
        );
        return {
          resolveDir: root,
          loader: 'js',
          contents: `
import { y18n } from ${JSON.stringify(core)};
import { format } from 'node:util';
import { basename, resolve } from 'node:path';
const files = ${JSON.stringify(files)};
const missing = (f) => Object.assign(new Error('ENOENT: ' + f), { code: 'ENOENT' });
const shim = {
  fs: {
    readFileSync: (f) => { const s = files[basename(f)]; if (s === undefined) throw missing(f); return s; },
    writeFile: (f, _d, _e, cb) => cb(missing(f)),
  },
  format,
  resolve,
  exists: (f) => Object.hasOwn(files, basename(f)),
};
export default (opts) => y18n(opts, shim);
`,
        };
      });
    },
  };
}

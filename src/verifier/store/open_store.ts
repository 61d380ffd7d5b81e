/**
 * Opens a store from the `--store` spelling: `embedded:DIR` (the default), `embedded:memory`
 * (tests, nothing kept), or a `postgres://` / `postgresql://` URL.
 *
 * @module
 */
import { UsageError } from '../../errors.js';
import type { VerifierStore } from './store.js';

/** Opens the store that `spec` names; each adapter loads its database client lazily. */
export async function openStore(spec: string): Promise<VerifierStore> {
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(spec);
  }
  if (spec.startsWith('embedded:')) {
    const dir = spec.slice('embedded:'.length);
    if (dir === '') throw new UsageError('ERR_USAGE', 'store: embedded: needs a directory');
    const { openEmbeddedStore } = await import('./embedded.js');
    return openEmbeddedStore(dir);
  }
  throw new UsageError(
    'ERR_USAGE',
    `store: ${JSON.stringify(spec)} is neither embedded:DIR nor a postgres:// URL`,
    { details: { store: spec } },
  );
}

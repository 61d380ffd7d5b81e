/**
 * The roots of an emulated TVM, as the verifier's `emulatedAnchors` option takes them (what
 * `--trust-emulated --tvm-state DIR` passes): trusted by SPKI fingerprint, never by name.
 *
 * @module
 */
import { emulatedRoots } from '../../src/providers/emulated/emulated_roots.js';

/** The DER root certificates of the emulated TVM in `stateDir`. */
export function emulatedRootsOf(stateDir: string): Uint8Array[] {
  return emulatedRoots(stateDir).roots.map((r) => r.der);
}

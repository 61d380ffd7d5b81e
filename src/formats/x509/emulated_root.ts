/**
 * The mark of an mrstack emulated root: the subject organisation (O=) every emulated PKI's root
 * carries, which the emulated providers write and the verifier looks for (docs/emulated-pki.md).
 *
 * @module
 */

/** The subject organisation (O=) of mrstack's emulated roots. */
export const EMULATED_ROOT_ORGANIZATION = 'mrstack emulated root - not hardware backed';

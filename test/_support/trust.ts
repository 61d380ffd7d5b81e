/**
 * Trust policies for tests that check one thing (a signature, a chain, a binding) and leave
 * freshness and revocation to the tests that are about them: the relaxations are named, so the
 * results list them in `relaxed`, and `verified` still needs every other check.
 */
import { makeTrustPolicy, type TrustPolicy } from '../../src/verifier/verify/trust_policy.js';

/** Freshness (no nonce) and revocation (no CRL) relaxed by name. */
export const RELAX_NONCE_CRL: TrustPolicy = makeTrustPolicy({ relax: ['nonce', 'crl'] });

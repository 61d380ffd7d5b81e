/**
 * `mrstack/verifier-service`: the verifier service and its state (DESIGN §6.5). A subpath of its
 * own so that `mrstack/verifier` never loads fastify, pino or a database client; the store's
 * database clients load only when a store of their kind is opened.
 *
 * Named re-exports only.
 *
 * @module
 */
export { serveVerifier, parseListen } from './serve.js';
export type { ServeOptions, RunningService } from './serve.js';
export { buildVerifierService, openApiDocument } from './server.js';
export type { VerifierServiceOptions } from './server.js';
export {
  activeSigningKey,
  rotateSigningKey,
  publishedJwks,
  loadKek,
  seal,
  unseal,
} from './key_vault.js';
export {
  callVerifier,
  openSession,
  submitEvidence,
  requestRegistration,
  activateRegistration,
} from './client.js';
export type {
  VerifierEndpoint,
  SessionJson,
  RegistrationChallengeJson,
  RegistrationRequestJson,
} from './client.js';
export {
  checkRegistrableAk,
  trustEk,
  credentialChallenge,
  secretMatches,
  sameEk,
  parseEkAllowlist,
  tpmtPublicOf,
  UNVERIFIED_EK,
} from './attester_registration.js';
export type {
  RegistrationTrust,
  TrustedEk,
  RegistrableAk,
  RegistrationInput,
  CredentialChallenge,
} from './attester_registration.js';
export { openStore } from '../store/open_store.js';
export { MIGRATIONS, SCHEMA_VERSION } from '../store/migrations.js';
export type { Migration } from '../store/migrations.js';
export type {
  VerifierStore,
  SessionRecord,
  NonceRefusal,
  ConsumeOutcome,
  AttesterRecord,
  AttesterKeyRecord,
  RegistrationRecord,
  RegistrationOutcome,
  ResultStatus,
  ResultRecord,
  NewResult,
  CheckpointKey,
  CheckpointRecord,
  CheckpointRefusal,
  AdvanceOutcome,
  PolicyRecord,
  SigningKeyRecord,
} from '../store/store.js';

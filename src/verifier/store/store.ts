/**
 * The verifier service's state behind one interface (DESIGN §6.5): challenge sessions and their
 * nonces, registered attesters and their AKs, credential-activation challenges, trusted
 * checkpoints for incremental verification, results, policies and EAR signing keys.
 *
 * Two adapters implement it with the same SQL ({@link ./sql_store.ts}): the embedded default
 * (PGlite, a WASM PostgreSQL in the process) and a PostgreSQL server shared by a fleet. The rules
 * that make a fleet act as one verifier live in the SQL, not in the callers: a nonce is consumed
 * by one conditional `UPDATE … RETURNING`, a checkpoint advances by compare-and-set only from a
 * passed result whose `relaxed` list is empty, and every timestamp comes from the database's
 * `now()`.
 *
 * @module
 */

/** A challenge session: the nonce the attester must bind its evidence to. */
export interface SessionRecord {
  readonly id: string;
  readonly nonce: Uint8Array;
  /** The attester the session was opened for, when the caller named one. */
  readonly attesterId: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** When the first evidence consumed the nonce; null while it is unused. */
  readonly consumedAt: Date | null;
  /** The result the consuming evidence produced, once recorded. */
  readonly resultId: string | null;
}

/** Why a nonce could not be consumed: each is its own error for the caller. */
export type NonceRefusal = 'unknown' | 'reused' | 'expired';

/** The outcome of {@link VerifierStore.consumeSession}. */
export type ConsumeOutcome =
  | { readonly ok: true; readonly session: SessionRecord }
  | { readonly ok: false; readonly reason: NonceRefusal };

/** The outcome of {@link VerifierStore.sessionForEvidence}. */
export type PeekOutcome =
  | {
      readonly ok: true;
      readonly session: SessionRecord;
      /** The database's now: the verification time of the evidence. */
      readonly at: Date;
      /** The session's attester, when it names one that is registered. */
      readonly attester: AttesterRecord | null;
      /** The attester's checkpoint under the `checkpoint` asked for, if there is one. */
      readonly checkpoint: CheckpointRecord | null;
    }
  | { readonly ok: false; readonly reason: NonceRefusal };

/** A checkpoint move to make with a session's result (see {@link VerifierStore.finishSession}). */
export interface CheckpointMove {
  readonly key: CheckpointKey;
  /** The version read before the evidence was evaluated (null: none yet). */
  readonly expectedVersion: number | null;
  readonly bootId: string | null;
  readonly value: unknown;
}

/** The outcome of {@link VerifierStore.finishSession}. */
export type FinishOutcome =
  | {
      readonly ok: true;
      readonly result: ResultRecord;
      /** The checkpoint move's outcome, when one was asked for. */
      readonly checkpoint?: AdvanceOutcome;
    }
  | { readonly ok: false; readonly reason: NonceRefusal };

/**
 * Why a TPM attester's EK was trusted at registration: its certificate chained to a TPM-vendor
 * anchor, the operator allowlisted it (relaxed), or a verified SVSM report (SNP, VMPL 0) lists
 * it as its vTPM's EK.
 */
export type EkTrustReason = 'certificate' | 'allowlist' | 'svsm_report';

/** A registered attester (a TPM with its EK, or a CVM by platform identity). */
export interface AttesterRecord {
  readonly id: string;
  readonly kind: 'tpm' | 'cvm';
  readonly ekCert: Uint8Array | null;
  readonly ekPublic: Uint8Array | null;
  /** Platform identity of a CVM attester (e.g. SNP chip id, TDX PCK identity); null for TPMs. */
  readonly platformId: string | null;
  /** Relaxations its registration needed (e.g. `unverified-ek` for an allowlisted bare EK). */
  readonly relaxed: readonly string[];
  /** TPM attesters: why the EK was trusted (null for CVM attesters; migration 3). */
  readonly ekTrust?: EkTrustReason | null;
  readonly createdAt: Date;
}

/** An AK registered to an attester by credential activation. */
export interface AttesterKeyRecord {
  readonly attesterId: string;
  /** TPM name of the AK (nameAlg ‖ H(TPMT_PUBLIC)). */
  readonly akName: Uint8Array;
  /** The AK's TPMT_PUBLIC. */
  readonly akPublic: Uint8Array;
  readonly createdAt: Date;
}

/** A pending MakeCredential challenge, single-use and expiring. */
export interface RegistrationRecord {
  readonly id: string;
  readonly attesterId: string;
  /** SHA-256 of the credential secret; the secret itself is never stored. */
  readonly secretDigest: Uint8Array;
  readonly ekCert: Uint8Array | null;
  readonly ekPublic: Uint8Array;
  readonly akPublic: Uint8Array;
  readonly akName: Uint8Array;
  readonly relaxed: readonly string[];
  /** Why the EK the challenge is sealed to was trusted (migration 3). */
  readonly ekTrust?: EkTrustReason | null;
  readonly expiresAt: Date;
  readonly consumedAt: Date | null;
}

/** The outcome of {@link VerifierStore.consumeRegistration}. */
export type RegistrationOutcome =
  | { readonly ok: true; readonly registration: RegistrationRecord }
  | { readonly ok: false; readonly reason: NonceRefusal };

/** EAR status values (draft-ietf-rats-ear). */
export type ResultStatus = 'affirming' | 'warning' | 'contraindicated' | 'none';

/** One appraisal result as stored. */
export interface ResultRecord {
  readonly id: string;
  readonly sessionId: string | null;
  readonly attesterId: string | null;
  readonly createdAt: Date;
  readonly status: ResultStatus;
  /**
   * True when the evidence verified and the appraisal affirmed it; only such a result with an
   * empty `relaxed` may advance a checkpoint.
   */
  readonly passed: boolean;
  readonly relaxed: readonly string[];
  readonly policyId: string | null;
  /** The signed EAR (a compact JWT), when one was issued. */
  readonly ear: string | null;
  /** The findings and claims as JSON. */
  readonly findings: unknown;
}

/** What a caller provides to record a result; `createdAt` is the database's clock. */
export type NewResult = Omit<ResultRecord, 'createdAt'>;

/** Where a checkpoint lives: one per attester, register and policy digest. */
export interface CheckpointKey {
  readonly attesterId: string;
  readonly register: string;
  readonly policyDigest: string;
}

/** A trusted checkpoint: register values and log position, opaque JSON to the store. */
export interface CheckpointRecord extends CheckpointKey {
  /** Incremented by every advance; the compare-and-set token. */
  readonly version: number;
  /** The boot the checkpoint belongs to; a new boot id resets it. */
  readonly bootId: string | null;
  /** Register values, log offset, IMA running value, learned keyrings… */
  readonly value: unknown;
  /** The result that advanced it last. */
  readonly resultId: string;
  readonly updatedAt: Date;
}

/** Why a checkpoint did not advance. */
export type CheckpointRefusal =
  /** Another writer advanced it first (the version did not match). */
  | 'stale'
  /** The result is unknown, belongs to another attester, did not pass, or was relaxed. */
  | 'not-trusted';

/** The outcome of {@link VerifierStore.advanceCheckpoint}. */
export type AdvanceOutcome =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly reason: CheckpointRefusal };

/** An appraisal policy version, immutable and addressed by its digest. */
export interface PolicyRecord {
  readonly id: string;
  /** `sha256:<hex>` of the policy's canonical bytes. */
  readonly digest: string;
  readonly body: unknown;
  readonly createdAt: Date;
}

/** An EAR signing key; the private half is encrypted by the caller before it reaches the store. */
export interface SigningKeyRecord {
  /** RFC 7638 JWK thumbprint. */
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Record<string, unknown>;
  /** The private key, sealed with the key-encryption key (never stored in the clear). */
  readonly sealedPrivate: Uint8Array;
  readonly createdAt: Date;
  /** When it stopped signing; retired keys stay in the JWKS for the EAR lifetime. */
  readonly retiredAt: Date | null;
}

/** The state of a verifier service, whatever holds it. */
export interface VerifierStore {
  /** `embedded` (PGlite in this process) or `postgres` (a server). */
  readonly kind: 'embedded' | 'postgres';
  /** The one clock: the database's `now()`. */
  now(): Promise<Date>;
  /** True when the database answers (for `/readyz`). */
  ping(): Promise<boolean>;

  /** Opens a session whose nonce expires `ttlSeconds` after the database's now. */
  createSession(input: {
    id: string;
    nonce: Uint8Array;
    attesterId?: string | null;
    ttlSeconds: number;
    /**
     * A policy digest: also return the attester's checkpoints under it (newest update first),
     * read in the same statement, for the session's `since` hint.
     */
    checkpointsUnder?: string;
  }): Promise<SessionRecord & { readonly checkpoints?: readonly CheckpointRecord[] }>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** Removes a session; true when it existed. */
  deleteSession(id: string): Promise<boolean>;
  /**
   * Consumes a session's nonce: exactly one caller wins, whatever the number of processes
   * racing; the others learn whether it was reused, expired or never existed.
   */
  consumeSession(id: string): Promise<ConsumeOutcome>;
  /**
   * A session about to receive evidence: its nonce and the database's now, its attester's
   * record and — given a register and policy digest — that attester's checkpoint there, in one
   * read; or why the session cannot take evidence (unknown, reused, expired). Reads only;
   * {@link finishSession} consumes.
   */
  sessionForEvidence(
    id: string,
    checkpoint?: { readonly register: string; readonly policyDigest: string },
  ): Promise<PeekOutcome>;
  /**
   * Consumes a session's nonce and records the result of its evidence in one commit; with
   * `move`, also advances a checkpoint by compare-and-set from that result, in the same
   * transaction (the store re-checks that the result passed with nothing relaxed). The consume
   * is the same conditional update as {@link consumeSession}: of any number of racing callers
   * exactly one records its result, the others get the refusal and nothing is written.
   */
  finishSession(id: string, result: NewResult, move?: CheckpointMove): Promise<FinishOutcome>;
  /** Links a consumed session to the result its evidence produced. */
  setSessionResult(id: string, resultId: string): Promise<void>;

  /** Records an attester; ERR_CONFLICT when the id exists. */
  putAttester(a: Omit<AttesterRecord, 'createdAt'>): Promise<AttesterRecord>;
  getAttester(id: string): Promise<AttesterRecord | null>;
  listAttesters(): Promise<AttesterRecord[]>;
  /** Removes an attester with its keys and checkpoints; true when it existed. */
  deleteAttester(id: string): Promise<boolean>;
  /** Registers an AK to an attester (idempotent for the same name). */
  addAttesterKey(k: Omit<AttesterKeyRecord, 'createdAt'>): Promise<void>;
  listAttesterKeys(attesterId: string): Promise<AttesterKeyRecord[]>;
  /** The attester an AK (by TPM name) is registered to, if any. */
  findAttesterKey(akName: Uint8Array): Promise<AttesterKeyRecord | null>;

  /** Stores a MakeCredential challenge that expires `ttlSeconds` after now. */
  createRegistration(
    r: Omit<RegistrationRecord, 'expiresAt' | 'consumedAt'> & { ttlSeconds: number },
  ): Promise<RegistrationRecord>;
  /** Consumes a registration challenge; single use, like a nonce. */
  consumeRegistration(id: string): Promise<RegistrationOutcome>;
  /** The id of the newest unconsumed, unexpired challenge of an attester, if any. */
  pendingRegistration(attesterId: string): Promise<string | null>;

  /**
   * Records a result; its `createdAt` is the database's now. A result of a session also links
   * the session to it (as {@link setSessionResult}), in the same statement. The record returned
   * holds the caller's own `findings` object (not a copy read back).
   */
  putResult(r: NewResult): Promise<ResultRecord>;
  getResult(id: string): Promise<ResultRecord | null>;
  /** Results newest first, optionally for one attester. */
  listResults(q: { attesterId?: string; limit: number }): Promise<ResultRecord[]>;
  /** The newest result of every attester that has one. */
  latestResults(): Promise<ResultRecord[]>;

  getCheckpoint(key: CheckpointKey): Promise<CheckpointRecord | null>;
  /** Every checkpoint of an attester (all registers and policies), newest update first. */
  listCheckpoints(attesterId: string): Promise<CheckpointRecord[]>;
  /**
   * Compare-and-set: moves the checkpoint from `expectedVersion` (null: none yet) to `value`,
   * only when `resultId` is a passed result of this attester with an empty `relaxed` list.
   */
  advanceCheckpoint(
    key: CheckpointKey,
    expectedVersion: number | null,
    next: { bootId: string | null; value: unknown; resultId: string },
  ): Promise<AdvanceOutcome>;

  /**
   * Stores a policy version; `created` false when that id and digest existed already (the
   * stored body stays: a digest addresses one body, and it is not read back).
   */
  putPolicy(p: Omit<PolicyRecord, 'createdAt'>): Promise<{ created: boolean }>;
  /** A policy version by digest, or the newest version of the id. */
  getPolicy(id: string, digest?: string): Promise<PolicyRecord | null>;

  putSigningKey(k: Omit<SigningKeyRecord, 'createdAt' | 'retiredAt'>): Promise<SigningKeyRecord>;
  /** Every key, newest first, retired ones included. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Marks every active key other than `keepKid` retired (rotation). */
  retireSigningKeys(keepKid: string): Promise<number>;

  close(): Promise<void>;
}

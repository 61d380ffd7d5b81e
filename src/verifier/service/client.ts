/**
 * A small client of the verifier service's API, for `mrstack verifier challenge|submit` and
 * `mrstack agent attest`: `http://`, `https://` (with an optional CA) or `unix:/path`. Errors
 * the service returns come back as MrstackErrors with the service's code.
 *
 * @module
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MrstackError, UsageError, type ErrorCode, ERROR_CODES } from '../../errors.js';

/** A verifier endpoint. */
export interface VerifierEndpoint {
  /** `http://HOST:PORT`, `https://HOST:PORT` or `unix:/path/to/socket`. */
  readonly url: string;
  /** PEM CA certificate(s) to trust for https. */
  readonly ca?: Uint8Array;
  /** Bearer token for admin routes. */
  readonly token?: string;
}

/** A challenge session as the service returns it. */
export interface SessionJson {
  readonly id: string;
  /** Hex. */
  readonly nonce: string;
  readonly expires_at: string;
  /**
   * The attester's trusted checkpoint (sessions opened for an attester): send the physical log
   * since it (`evidence get --since SEQ`).
   */
  readonly since?: { readonly register: string; readonly seq: number };
  /**
   * The attester's trusted IMA checkpoint, when the verifier holds one: send the IMA list from
   * entry `offset` on (`register` `mr_ima`: the agent's ima tenant; `pcr10`: a TPM's list).
   */
  readonly ima_since?: {
    readonly register: string;
    readonly offset: number;
    /** The boot the checkpoint was taken in, when known (another boot sends the whole list). */
    readonly boot_id?: string;
  };
  /**
   * The tenant's trusted position (sessions opened for an attester and a tenant): send its log
   * since extended record `record` (`evidence get --tenant-since RECORD`; `line`: the lines
   * that leaves out), in boot `boot_id`.
   */
  readonly tenant_since?: {
    readonly tenant: string;
    readonly vmr: string;
    readonly record: number;
    readonly line: number;
    readonly boot_id?: string;
  };
}

/** Sends one request; resolves to the parsed JSON body, or throws the service's error. */
export async function callVerifier(
  ep: VerifierEndpoint,
  method: string,
  path: string,
  body?: { bytes: Uint8Array; type: string },
): Promise<unknown> {
  let opts: RequestOptions;
  let https = false;
  if (ep.url.startsWith('unix:')) {
    opts = { socketPath: ep.url.slice(5), path };
  } else {
    let u: URL;
    try {
      u = new URL(path, ep.url);
    } catch {
      throw new UsageError(
        'ERR_USAGE',
        `--verifier ${ep.url}: expected http(s)://HOST:PORT or unix:PATH`,
      );
    }
    https = u.protocol === 'https:';
    if (!https && u.protocol !== 'http:') {
      throw new UsageError(
        'ERR_USAGE',
        `--verifier ${ep.url}: expected http(s)://HOST:PORT or unix:PATH`,
      );
    }
    opts = { host: u.hostname, port: u.port, path: u.pathname + u.search };
    if (https && ep.ca !== undefined) (opts as { ca?: Buffer }).ca = Buffer.from(ep.ca);
  }
  const headers: Record<string, string> = {};
  if (body !== undefined) {
    headers['content-type'] = body.type;
    headers['content-length'] = String(body.bytes.length);
  }
  if (ep.token !== undefined) headers['authorization'] = `Bearer ${ep.token}`;
  const send = https ? httpsRequest : httpRequest;
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = send({ ...opts, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', (e) =>
        reject(
          new MrstackError('ERR_IO', `verifier ${ep.url}: ${e.message}`, {
            cause: e,
            details: { verifier: ep.url },
          }),
        ),
      );
      if (body !== undefined) req.end(Buffer.from(body.bytes));
      else req.end();
    },
  );
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new MrstackError(
        'ERR_BAD_JSON',
        `verifier ${ep.url}: answered HTTP ${status} with non-JSON`,
      );
    }
  }
  if (status >= 400) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const code =
      err?.code !== undefined && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'ERR_IO';
    throw new MrstackError(code, `verifier: ${err?.message ?? `HTTP ${status}`}`, {
      details: { http_status: status, ...(err ?? {}) },
    });
  }
  return json;
}

/**
 * Opens a challenge session, for an attester (the answer names the checkpoint to send since)
 * and the tenant that will attest (the answer names where its log continues from).
 */
export async function openSession(
  ep: VerifierEndpoint,
  attesterId?: string,
  tenant?: string,
): Promise<SessionJson> {
  const body = new TextEncoder().encode(
    JSON.stringify({
      ...(attesterId === undefined ? {} : { attester_id: attesterId }),
      ...(tenant === undefined ? {} : { tenant }),
    }),
  );
  return (await callVerifier(ep, 'POST', '/v1/sessions', {
    bytes: body,
    type: 'application/json',
  })) as SessionJson;
}

/** Submits evidence to a session; resolves to the result (EAR and appraisal). */
export async function submitEvidence(
  ep: VerifierEndpoint,
  sessionId: string,
  evidence: Uint8Array,
): Promise<Record<string, unknown>> {
  return (await callVerifier(ep, 'POST', `/v1/sessions/${encodeURIComponent(sessionId)}/evidence`, {
    bytes: evidence,
    type: 'application/octet-stream',
  })) as Record<string, unknown>;
}

/** A MakeCredential challenge as `POST /v1/attesters` returns it (bytes as hex). */
export interface RegistrationChallengeJson {
  readonly attester_id: string;
  readonly registration_id: string;
  readonly ak_name: string;
  readonly credential_blob: string;
  readonly secret: string;
  readonly expires_at: string;
  readonly relaxed: readonly string[];
}

/** What the attester sends to register (bytes as hex). */
export interface RegistrationRequestJson {
  readonly attester_id?: string;
  readonly ek_cert?: string;
  readonly ek_chain?: readonly string[];
  readonly ek_public?: string;
  readonly ak_public: string;
  /**
   * SVSM attesters: the report envelope of `mrstack report --service-provider svsm` (hex of its
   * bytes), made with the nonce of `session_id`; the EK is then the vTPM's from its manifest.
   */
  readonly svsm_report?: string;
  readonly session_id?: string;
}

const jsonBytes = (v: unknown): { bytes: Uint8Array; type: string } => ({
  bytes: new TextEncoder().encode(JSON.stringify(v)),
  type: 'application/json',
});

/** Asks the verifier for a credential-activation challenge. */
export async function requestRegistration(
  ep: VerifierEndpoint,
  req: RegistrationRequestJson,
): Promise<RegistrationChallengeJson> {
  return (await callVerifier(
    ep,
    'POST',
    '/v1/attesters',
    jsonBytes(req),
  )) as RegistrationChallengeJson;
}

/** Answers a challenge with the secret ActivateCredential recovered; the AK is then registered. */
export async function activateRegistration(
  ep: VerifierEndpoint,
  attesterId: string,
  registrationId: string,
  secret: Uint8Array,
): Promise<Record<string, unknown>> {
  return (await callVerifier(
    ep,
    'POST',
    `/v1/attesters/${encodeURIComponent(attesterId)}/activate`,
    jsonBytes({ registration_id: registrationId, secret: Buffer.from(secret).toString('hex') }),
  )) as Record<string, unknown>;
}

/** A registered attester as `POST|GET /v1/attesters` return it. */
export interface AttesterJson {
  readonly id: string;
  readonly kind: 'tpm' | 'cvm';
  readonly created_at: string;
  readonly relaxed: readonly string[];
  readonly platform_id?: string;
}

/**
 * Registers a CVM attester by its platform identity (`snp:<CHIP_ID>`, `tdx:<PPID>`,
 * `cca:<instance id>`): an admin call, since nothing in the request proves the identity. Every
 * later evidence for the attester must come from that platform (`ERR_PLATFORM_MISMATCH`).
 * Registering the same identity again answers the existing attester.
 */
export async function registerPlatform(
  ep: VerifierEndpoint,
  attesterId: string,
  platformId: string,
): Promise<AttesterJson> {
  return (await callVerifier(
    ep,
    'POST',
    '/v1/attesters',
    jsonBytes({ attester_id: attesterId, platform_id: platformId }),
  )) as AttesterJson;
}

/**
 * The agent's service (DESIGN §5; OpenAPI in `docs/openapi/agent.json`): fastify over unix
 * sockets with JSON bodies. The admin socket `RUN/admin.sock` manages tenants and checkpoints and
 * shows status; each tenant has its own socket `RUN/tenants/<name>.sock` (owner and mode as
 * configured) through which it can append only to its own vMR, read only its own log and
 * request evidence only about itself — the socket is the tenant's identity.
 *
 * @module
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { MrstackError, ParseError } from '../errors.js';
import { fromHex } from '../bytes/hex.js';
import { bundleToJson } from '../formats/bundle/bundle.js';
import type { Agent, AgentLogger, AppendResult } from './agent.js';
import { parseTenantConfig, tenantConfigToJson, type TenantConfig } from './tenant_config.js';

/** Options of {@link AgentServer.start}. */
export interface AgentServerOptions {
  readonly agent: Agent;
  /** Directory of the sockets (`admin.sock`, `tenants/<name>.sock`). */
  readonly runDir: string;
  /** Mode of the admin socket (default 0600). */
  readonly adminMode?: string;
  readonly logger?: AgentLogger;
}

/** HTTP status of an error code. */
export function httpStatusOf(e: MrstackError): number {
  const special: Partial<Record<string, number>> = {
    ERR_NOT_FOUND: 404,
    ERR_CONFLICT: 409,
    ERR_RATE_LIMITED: 429,
    ERR_FORBIDDEN: 403,
    ERR_PERMISSION: 403,
  };
  return special[e.code] ?? (e.exitCode === 3 ? 503 : 400);
}

function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof MrstackError) return reply.code(httpStatusOf(e)).send({ error: e.toJSON() });
  const fe = e as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    return reply
      .code(fe.statusCode)
      .send({ error: { code: 'ERR_BAD_JSON', message: fe.message ?? 'bad request' } });
  }
  const message = e instanceof Error ? e.message : String(e);
  return reply.code(500).send({ error: { code: 'ERR_INTERNAL', message } });
}

/** The JSON form of an append result. */
export function appendResultToJson(r: AppendResult): Record<string, unknown> {
  return {
    status: r.status,
    tenant: r.tenant,
    vmr: r.vmr,
    ...(r.id === undefined ? {} : { id: r.id }),
    record: r.record,
    value: r.value,
    register: r.register,
    ...(r.physicalRecord === undefined ? {} : { physical_record: r.physicalRecord }),
    duplicate: r.duplicate,
  };
}

function body(req: { body: unknown }): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'json',
      offset: 0,
      field: 'body',
      expected: 'a JSON object',
    });
  }
  return b as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new ParseError({
      code: 'ERR_BAD_JSON',
      format: 'json',
      offset: 0,
      field: k,
      expected: 'a string',
      actual: typeof v,
    });
  }
  return v;
}

type FastifyFactory = (typeof import('fastify'))['default'];

/** fastify is loaded on first use, so that importing the public API loads no server. */
let fastifyFactory: FastifyFactory | undefined;

async function newApp(): Promise<FastifyInstance> {
  fastifyFactory ??= (await import('fastify')).default;
  const app = fastifyFactory({ logger: false, bodyLimit: 1024 * 1024 });
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        code: 'ERR_NOT_FOUND',
        message: `no route ${req.method} ${req.url} on this socket`,
      },
    }),
  );
  return app;
}

async function listenUnix(
  app: FastifyInstance,
  path: string,
  mode: string,
  owner: string | undefined,
): Promise<void> {
  try {
    fs.unlinkSync(path);
  } catch {
    // no stale socket
  }
  await app.listen({ path });
  fs.chmodSync(path, parseInt(mode, 8));
  if (owner !== undefined) {
    const [uid, gid] = owner.split(':').map(Number);
    fs.chownSync(path, uid!, gid ?? -1);
  }
}

/** The running service. */
export class AgentServer {
  readonly agent: Agent;
  readonly runDir: string;
  readonly #admin: FastifyInstance;
  readonly #tenantApps = new Map<string, FastifyInstance>();
  readonly #log: AgentLogger | undefined;

  private constructor(
    agent: Agent,
    runDir: string,
    admin: FastifyInstance,
    log: AgentLogger | undefined,
  ) {
    this.agent = agent;
    this.runDir = runDir;
    this.#admin = admin;
    this.#log = log;
  }

  /** Path of the admin socket. */
  get adminSocket(): string {
    return join(this.runDir, 'admin.sock');
  }

  /** Path of a tenant's socket. */
  tenantSocket(name: string): string {
    return join(this.runDir, 'tenants', `${name}.sock`);
  }

  /** Starts the admin socket and one socket per tenant. */
  static async start(opts: AgentServerOptions): Promise<AgentServer> {
    fs.mkdirSync(join(opts.runDir, 'tenants'), { recursive: true, mode: 0o755 });
    const admin = await newApp();
    const server = new AgentServer(opts.agent, opts.runDir, admin, opts.logger);
    server.#adminRoutes(admin);
    await listenUnix(admin, server.adminSocket, opts.adminMode ?? '0600', undefined);
    for (const t of opts.agent.listTenants()) await server.#openTenant(t);
    return server;
  }

  #adminRoutes(app: FastifyInstance): void {
    const agent = this.agent;
    app.get('/v1/status', () => ({
      ...agent.status(),
      sockets: {
        admin: this.adminSocket,
        tenants: Object.fromEntries(
          [...this.#tenantApps.keys()].map((n) => [n, this.tenantSocket(n)]),
        ),
      },
    }));
    app.get('/v1/tenants', () => ({
      tenants: agent
        .listTenants()
        .map((t) => ({ ...tenantConfigToJson(t), socket: this.tenantSocket(t.name) })),
    }));
    app.post('/v1/tenants', async (req) => {
      const cfg = parseTenantConfig(body(req));
      await agent.addTenant(cfg);
      await this.#openTenant(cfg);
      return { ...tenantConfigToJson(cfg), socket: this.tenantSocket(cfg.name) };
    });
    app.delete<{ Params: { name: string } }>('/v1/tenants/:name', async (req) => {
      const name = req.params.name;
      await agent.removeTenant(name);
      await this.#closeTenant(name);
      return { removed: name };
    });
    app.post('/v1/checkpoint', async () => {
      const cp = await agent.checkpoint();
      return { checkpoint: cp.seq, at: cp.at };
    });
  }

  async #openTenant(cfg: TenantConfig): Promise<void> {
    if (this.#tenantApps.has(cfg.name)) return;
    const app = await newApp();
    const agent = this.agent;
    const name = cfg.name;
    app.post('/v1/events', async (req) => {
      const b = body(req);
      const id = optString(b, 'id');
      const r = await agent.append(
        name,
        {
          domain: b['domain'] as string,
          operation: b['operation'] as string,
          content: b['content'] as string,
        },
        id,
      );
      return appendResultToJson(r);
    });
    app.get<{ Params: { id: string } }>('/v1/events/:id', (req) =>
      agent.eventStatus(name, req.params.id),
    );
    app.get('/v1/log', () => ({ tenant: name, vmr: cfg.vmr, lines: agent.tenantLog(name) }));
    app.post('/v1/evidence', async (req) => {
      const b = body(req);
      const nonceHex = optString(b, 'nonce');
      if (nonceHex === undefined) {
        throw new ParseError({
          code: 'ERR_BAD_JSON',
          format: 'json',
          offset: 0,
          field: 'nonce',
          expected: 'a hex string',
        });
      }
      const ud = optString(b, 'user_data');
      const since = b['since'];
      if (
        since !== undefined &&
        (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)
      ) {
        throw new ParseError({
          code: 'ERR_BAD_JSON',
          format: 'json',
          offset: 0,
          field: 'since',
          expected: 'a checkpoint number',
        });
      }
      const bundle = await agent.evidence(
        name,
        fromHex(nonceHex, 'nonce'),
        ud === undefined ? undefined : fromHex(ud, 'user_data'),
        since ?? 0,
      );
      return bundleToJson(bundle);
    });
    await listenUnix(app, this.tenantSocket(name), cfg.mode ?? '0600', cfg.owner);
    this.#tenantApps.set(name, app);
    this.#log?.info({ tenant: name, socket: this.tenantSocket(name) }, 'tenant socket listening');
  }

  async #closeTenant(name: string): Promise<void> {
    const app = this.#tenantApps.get(name);
    if (app === undefined) return;
    this.#tenantApps.delete(name);
    await app.close();
    try {
      fs.unlinkSync(this.tenantSocket(name));
    } catch {
      // gone already
    }
  }

  /** Stops every socket (the agent stays open). */
  async close(): Promise<void> {
    for (const name of [...this.#tenantApps.keys()]) await this.#closeTenant(name);
    await this.#admin.close();
  }
}

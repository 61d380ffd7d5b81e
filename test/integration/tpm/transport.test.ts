/**
 * The swtpm socket transport against a misbehaving peer on loopback (port 0): responses split
 * across packets are reassembled; an absurd size field, a closed connection and a peer that is
 * not there are ERR_TPM_TRANSPORT; a malformed body reaches the decoder as a ParseError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { SwtpmTransport, parseSocketAddress } from '../../../src/providers/tpm/swtpm_transport.js';
import { Tpm } from '../../../src/providers/tpm/tpm.js';
import { DeviceTransport } from '../../../src/providers/tpm/device_transport.js';
import { setupSwtpmState } from '../../../src/providers/tpm/swtpm_process.js';
import { TPM_ALG } from '../../../src/formats/tpm2/constants.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function fakeTpm(
  reply: (cmd: Buffer, sock: Socket) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((sock) => {
    sock.on('data', (d) => reply(d, sock));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { server, port: typeof a === 'object' && a !== null ? a.port : 0 };
}

const hx = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('a response split into single bytes is reassembled; a TPM error reaches the caller typed', async (t) => {
  const { server, port } = await fakeTpm((_cmd, sock) => {
    const resp = hx('8001 0000000c 00000000 0000'); // GetRandom: zero bytes
    for (const b of resp) sock.write(Buffer.of(b));
  });
  t.after(() => server.close());
  const tpm = new Tpm(new SwtpmTransport({ host: '127.0.0.1', port }));
  try {
    assert.equal((await tpm.getRandom(4)).length, 0);
  } finally {
    await tpm.close();
  }
  const { server: s2, port: p2 } = await fakeTpm((_c, sock) =>
    sock.write(hx('8001 0000000a 00000143')),
  );
  t.after(() => s2.close());
  const tpm2 = new Tpm(new SwtpmTransport({ host: '127.0.0.1', port: p2 }));
  try {
    await assert.rejects(tpm2.getRandom(4), { code: 'ERR_TPM_RC', message: /TPM_RC_COMMAND_CODE/ });
  } finally {
    await tpm2.close();
  }
});

test('an absurd size field, a closed connection and no peer are ERR_TPM_TRANSPORT', async (t) => {
  const { server, port } = await fakeTpm((_c, sock) => sock.write(hx('8001 7fffffff 00000000')));
  t.after(() => server.close());
  const tr = new SwtpmTransport({ host: '127.0.0.1', port });
  await assert.rejects(tr.transmit(hx('80010000000a0000017b')), {
    code: 'ERR_TPM_TRANSPORT',
    message: /size field/,
  });
  await tr.close();
  const { server: s2, port: p2 } = await fakeTpm((_c, sock) => {
    sock.write(hx('8001 0000'));
    sock.end();
  });
  t.after(() => s2.close());
  const tr2 = new SwtpmTransport({ host: '127.0.0.1', port: p2 });
  await assert.rejects(tr2.transmit(hx('80010000000a0000017b')), { code: 'ERR_TPM_TRANSPORT' });
  await tr2.close();
  // A port nobody listens on (the server above, closed).
  const { server: s3, port: p3 } = await fakeTpm(() => undefined);
  await new Promise<void>((r) => s3.close(() => r()));
  await assert.rejects(
    new SwtpmTransport({ host: '127.0.0.1', port: p3 }).transmit(hx('80010000000a0000017b')),
    {
      code: 'ERR_TPM_TRANSPORT',
      message: /cannot connect/,
    },
  );
});

test('a malformed body (unknown tag) from the peer is a ParseError, not a crash', async (t) => {
  const { server, port } = await fakeTpm((_c, sock) => sock.write(hx('c4c4 0000000a 00000000')));
  t.after(() => server.close());
  const tpm = new Tpm(new SwtpmTransport({ host: '127.0.0.1', port }));
  try {
    await assert.rejects(tpm.getRandom(4), { code: 'ERR_BAD_MAGIC', field: 'response.tag' });
  } finally {
    await tpm.close();
  }
});

test('--swtpm addresses: HOST:PORT, PORT, unix:PATH; bad ones are ERR_USAGE', () => {
  assert.deepEqual(parseSocketAddress('127.0.0.1:2321'), { host: '127.0.0.1', port: 2321 });
  assert.deepEqual(parseSocketAddress('2321'), { host: '127.0.0.1', port: 2321 });
  assert.deepEqual(parseSocketAddress('unix:/run/swtpm.sock'), { path: '/run/swtpm.sock' });
  assert.throws(() => parseSocketAddress('host:99999'), { code: 'ERR_USAGE' });
});

test('swtpm on unix sockets: commands over the socket path, control channel power cycle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-swtpm-unix-'));
  await setupSwtpmState(join(dir, 'state'), { pcrBanks: ['sha256'] });
  const sockPath = join(dir, 'tpm.sock');
  const ctrlPath = join(dir, 'ctrl.sock');
  const child = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${join(dir, 'state')}`,
      '--server',
      `type=unixio,path=${sockPath}`,
      '--ctrl',
      `type=unixio,path=${ctrlPath}`,
      '--flags',
      'not-need-init,startup-clear',
    ],
    { stdio: 'ignore' },
  );
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  // a generous deadline for swtpm to create its sockets (200 x 25 ms was tight at load)
  const deadline = Date.now() + 60_000;
  while (!(existsSync(sockPath) && existsSync(ctrlPath)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const addr = parseSocketAddress(`unix:${sockPath}`);
  const tpm = new Tpm(new SwtpmTransport(addr));
  try {
    assert.deepEqual(
      (await tpm.pcrBanks()).map((b) => b.hashAlg),
      [TPM_ALG.SHA256],
    );
    await tpm.pcrEvent(16, Uint8Array.of(1));
    const [v] = await tpm.pcrRead([{ hashAlg: TPM_ALG.SHA256, pcrs: [16] }]);
    assert.notDeepEqual(v?.value, new Uint8Array(32));
  } finally {
    await tpm.close();
  }
  const { SwtpmControl } = await import('../../../src/providers/tpm/swtpm_transport.js');
  await new SwtpmControl({ path: ctrlPath }).init();
  const tpm2 = new Tpm(new SwtpmTransport(addr));
  try {
    assert.equal(await tpm2.startup(), true);
    const [v] = await tpm2.pcrRead([{ hashAlg: TPM_ALG.SHA256, pcrs: [16] }]);
    assert.deepEqual(v?.value, new Uint8Array(32));
  } finally {
    await tpm2.close();
  }
});

test('the device transport: a missing device is ERR_NOT_FOUND, a non-TPM file a typed failure', async () => {
  await assert.rejects(
    new DeviceTransport('/nonexistent/tpmrm0').transmit(hx('80010000000a0000017b')),
    {
      code: 'ERR_NOT_FOUND',
    },
  );
  const dir = mkdtempSync(join(tmpdir(), 'mrstack-dev-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'fake'), '');
    const tr = new DeviceTransport(join(dir, 'fake'));
    await assert.rejects(tr.transmit(hx('80010000000a0000017b')), { code: 'ERR_TPM_TRANSPORT' });
    await tr.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

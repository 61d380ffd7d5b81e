/** Local HTTP servers standing in for remote services (Intel PCS, AMD KDS) in tests. */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * Serves `handler` on 127.0.0.1 at a free port until test `t` ends; resolves to the base URL
 * (`http://127.0.0.1:<port>`).
 */
export async function serveHttpForTest(t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

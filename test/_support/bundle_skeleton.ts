/**
 * The members every evidence bundle has, with placeholder values, for tests of the bundle's
 * shape that need no cryptography: an emulated TDX report with an empty outblob, a one-leaf
 * binding, no firmware log, and an rtmr3 / sha384 physical log whose fields a test may replace.
 * A test adds its `tenant_log` or `ima_log` member after these.
 */
export function bundleSkeleton(opts: {
  readonly tenant: string;
  readonly created?: string;
  readonly physicalLog?: Readonly<Record<string, unknown>>;
}): Record<string, unknown> {
  return {
    format: 'mrstack-evidence-bundle',
    version: 1,
    created: opts.created ?? '2026-12-07T00:00:00.000Z',
    binding: {
      tenant: opts.tenant,
      nonce: '00'.repeat(8),
      user_data: '',
      leaf_index: 0,
      tree_size: 1,
      proof: [],
    },
    report: {
      kind: 'tdx',
      format: 'tdx-quote',
      provider: 'tdx_guest',
      emulated: true,
      outblob: '',
    },
    firmware_log: null,
    physical_log: {
      register: 'rtmr3',
      algs: ['sha384'],
      since: 0,
      extended_before: 0,
      before: 0,
      after: 0,
      lines: [],
      ...opts.physicalLog,
    },
  };
}

/** Independent tools the tests compare against (openssl, tpm2-tools, evmctl, swtpm). */
import { execFileSync, spawnSync } from 'node:child_process';

/** Runs a tool and returns stdout; throws with stderr when it fails. */
export function runTool(cmd: string, args: readonly string[], input?: Uint8Array | string): Buffer {
  return execFileSync(cmd, [...args], {
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** True when a tool is on PATH. */
export function haveTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** `openssl dgst -<alg> -binary` of the input: an independent hash. */
export function opensslDigest(alg: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(runTool('openssl', ['dgst', `-${alg}`, '-binary'], data));
}

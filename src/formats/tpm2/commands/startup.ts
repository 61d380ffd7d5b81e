/**
 * TPM2_Startup (Part 3, 9.3) and TPM2_Shutdown (9.4).
 *
 * @module
 */
import { ByteWriter } from '../../../bytes/writer.js';
import { TPM_CC } from '../constants.js';
import { decodeResponse, encodeCommand } from '../command.js';

/** TPM2_Startup(startupType). */
export function encodeStartup(startupType: number): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.Startup,
    params: new ByteWriter(2).u16be(startupType).finish(),
  });
}

/** Checks TPM2_Startup's response. */
export function decodeStartupResponse(resp: Uint8Array): void {
  decodeResponse(resp, { command: 'TPM2_Startup' }).params.expectEnd('TPM2_Startup');
}

/** TPM2_Shutdown(shutdownType). */
export function encodeShutdown(shutdownType: number): Uint8Array {
  return encodeCommand({
    cc: TPM_CC.Shutdown,
    params: new ByteWriter(2).u16be(shutdownType).finish(),
  });
}

/** Checks TPM2_Shutdown's response. */
export function decodeShutdownResponse(resp: Uint8Array): void {
  decodeResponse(resp, { command: 'TPM2_Shutdown' }).params.expectEnd('TPM2_Shutdown');
}

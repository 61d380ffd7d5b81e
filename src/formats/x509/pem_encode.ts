/**
 * PEM armour (RFC 7468 §2): base64 of DER in 64-character lines between BEGIN/END labels.
 *
 * @module
 */

/** DER → PEM text (`label` defaults to `CERTIFICATE`). */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Validation of application events submitted by tenants (DESIGN §4): `<domain> <operation>
 * <content>`. A tenant never writes reserved records, control characters or a bad domain; a
 * refused event leaves every log untouched because validation runs before anything is written.
 *
 * @module
 */
import { ParseError, fieldErrors } from '../../errors.js';
import { OPERATION_RE, RESERVED_TOKEN_RE, findControlChar, isDomain } from './record.js';

/** What a tenant submits. */
export interface TenantEventInput {
  readonly domain: string;
  readonly operation: string;
  readonly content: string;
}

const bad = fieldErrors({ code: 'ERR_BAD_EVENT', format: 'mrlog' });

/**
 * Checks a tenant event and returns its line (without LF).
 * @param maxBytes - the tenant's record-size limit (UTF-8 bytes of the line).
 * @throws ParseError `ERR_BAD_EVENT` (reserved token, control character, bad domain or
 *   operation, not a string), `ERR_RECORD_TOO_LARGE`
 */
export function tenantEventLine(ev: TenantEventInput, maxBytes: number): string {
  const { domain, operation, content } = ev as unknown as Partial<Record<string, unknown>>;
  if (typeof domain !== 'string') throw bad('domain', 'a string', typeof domain);
  if (typeof operation !== 'string') throw bad('operation', 'a string', typeof operation);
  if (typeof content !== 'string') throw bad('content', 'a string', typeof content);
  if (RESERVED_TOKEN_RE.test(domain)) {
    throw bad('domain', 'not a reserved upper-case token', JSON.stringify(domain));
  }
  if (!isDomain(domain)) {
    throw bad('domain', 'URI-like, containing "." or "/"', JSON.stringify(domain));
  }
  if (!OPERATION_RE.test(operation)) {
    throw bad('operation', '[A-Za-z0-9_.-]+', JSON.stringify(operation));
  }
  const cc = findControlChar(content);
  if (cc >= 0) {
    throw bad(
      `content[${cc}]`,
      'no control characters',
      `U+${content.charCodeAt(cc).toString(16).padStart(4, '0')}`,
    );
  }
  if (/[\uD800-\uDFFF]/.test(content.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw bad('content', 'valid Unicode', 'a lone surrogate');
  }
  const line = `${domain} ${operation} ${content}`;
  const size = Buffer.byteLength(line, 'utf8');
  if (size > maxBytes) {
    throw new ParseError({
      code: 'ERR_RECORD_TOO_LARGE',
      format: 'mrlog',
      offset: 0,
      field: 'event',
      expected: `<= ${maxBytes} bytes`,
      actual: `${size} bytes`,
    });
  }
  return line;
}

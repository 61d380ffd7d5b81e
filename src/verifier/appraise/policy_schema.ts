/**
 * The JSON Schema (draft 2020-12) of appraisal policy v1. `docs/policy.schema.json` is this
 * object printed (a test keeps them equal); `mrstack policy validate` checks files against it.
 *
 * @module
 */

const hex = { type: 'string', pattern: '^(?:[0-9a-fA-F]{2})+$' } as const;
const refValue = {
  description:
    'A reference value: lower- or upper-case hex, or an object with the value, an optional expiry (RVPS) and where it came from.',
  oneOf: [
    hex,
    {
      type: 'object',
      required: ['value'],
      additionalProperties: false,
      properties: {
        value: hex,
        expires: {
          type: 'string',
          pattern:
            '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$',
        },
        source: { type: 'string' },
      },
    },
  ],
} as const;
const refList = { type: 'array', items: { $ref: '#/$defs/refValue' } } as const;
const nameList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
const digestMap = {
  type: 'object',
  additionalProperties: { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{32,128}$' } },
} as const;
const status = { enum: ['affirming', 'warning', 'contraindicated', 'none'] } as const;

/** The schema object. */
export const POLICY_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/mrstack/mrstack/docs/policy.schema.json',
  title: 'mrstack appraisal policy v1',
  type: 'object',
  required: ['version', 'name'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    version: { const: 1 },
    name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
    description: { type: 'string' },
    source: {
      type: 'object',
      description: 'Where an imported or generated policy came from.',
      additionalProperties: false,
      properties: {
        importer: { type: 'string' },
        files: { type: 'array', items: { type: 'string' } },
        signed_by: { type: 'string' },
      },
    },
    statuses: {
      type: 'object',
      description: 'Status overrides per finding id (docs/appraisal.md).',
      additionalProperties: status,
    },
    require: {
      type: 'object',
      additionalProperties: false,
      properties: {
        nonce: { type: 'boolean', description: "Evidence must be bound to the caller's nonce." },
      },
    },
    tcb: {
      type: 'object',
      additionalProperties: false,
      properties: {
        accept: { ...nameList, description: 'TCB statuses that are affirming.' },
        warn: { ...nameList, description: 'TCB statuses that are a warning.' },
        advisories: {
          type: 'object',
          additionalProperties: false,
          properties: {
            allow: { ...nameList, description: 'Advisory ids accepted; any other is a warning.' },
            deny: { ...nameList, description: 'Advisory ids that contraindicate.' },
          },
        },
      },
    },
    tdx: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mrtd: refList,
        mrconfigid: refList,
        mrowner: refList,
        mrownerconfig: refList,
        mrseam: refList,
        td_attributes: refList,
        xfam: refList,
        debug: { type: 'boolean', description: 'Whether a debug TD is accepted (default false).' },
        migratable: { type: 'boolean', description: 'Whether a migratable TD is accepted.' },
      },
    },
    snp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        measurement: refList,
        host_data: refList,
        id_key_digest: refList,
        author_key_digest: refList,
        policy: {
          type: 'object',
          description: 'Guest policy fields that must have these values (bits as booleans).',
          additionalProperties: false,
          properties: {
            debug: { type: 'boolean' },
            migrate_ma: { type: 'boolean' },
            smt: { type: 'boolean' },
            single_socket: { type: 'boolean' },
            cxl_allow: { type: 'boolean' },
            mem_aes_256_xts: { type: 'boolean' },
            rapl_dis: { type: 'boolean' },
            ciphertext_hiding: { type: 'boolean' },
            page_swap_disable: { type: 'boolean' },
            abi_major: { type: 'integer', minimum: 0, maximum: 255 },
            abi_minor: { type: 'integer', minimum: 0, maximum: 255 },
          },
        },
        minimum_tcb: {
          type: 'object',
          description: 'Minimum REPORTED_TCB component SVNs.',
          additionalProperties: false,
          properties: {
            bootloader: { type: 'integer', minimum: 0, maximum: 255 },
            tee: { type: 'integer', minimum: 0, maximum: 255 },
            snp: { type: 'integer', minimum: 0, maximum: 255 },
            microcode: { type: 'integer', minimum: 0, maximum: 255 },
            fmc: { type: 'integer', minimum: 0, maximum: 255 },
          },
        },
        vmpl: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 3 } },
      },
    },
    cca: {
      type: 'object',
      additionalProperties: false,
      properties: {
        debug: {
          type: 'boolean',
          description:
            'Accept a platform lifecycle other than secured (0x3000–0x30ff: debug, decommissioned); default false.',
        },
        rim: refList,
        realm: {
          type: 'object',
          description: 'Realm claims (personalization_value, hash_algo_id …) and accepted values.',
          additionalProperties: { type: 'array', items: { type: ['string', 'integer'] } },
        },
        platform: {
          type: 'object',
          additionalProperties: false,
          properties: {
            implementation_id: refList,
            lifecycle: { type: 'array', items: { type: 'integer' } },
            sw_components: {
              type: 'array',
              description: 'Measurements every reported software component must be one of.',
              items: {
                type: 'object',
                required: ['measurement'],
                additionalProperties: false,
                properties: {
                  measurement: hex,
                  signer_id: hex,
                  type: { type: 'string' },
                  version: { type: 'string' },
                },
              },
            },
            minimum_versions: {
              type: 'object',
              description:
                'Per software component type (measurement_type): the lowest signed version accepted (dotted numbers); lower is cca.tcb.out-of-date.',
              additionalProperties: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$' },
            },
          },
        },
      },
    },
    tpm: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pcrs: {
          type: 'object',
          description: 'Quoted PCR values per bank: {"sha256": {"pcr0": [..]}}.',
          propertyNames: { enum: ['sha1', 'sha256', 'sha384', 'sha512', 'sm3'] },
          additionalProperties: {
            type: 'object',
            propertyNames: { pattern: '^pcr([0-9]|1[0-9]|2[0-3])$' },
            additionalProperties: refList,
          },
        },
        minimum_firmware: {
          type: 'string',
          description:
            'The lowest TPMS_ATTEST firmwareVersion accepted (16 hex digits, 0x optional); lower is tpm.tcb.out-of-date.',
          pattern: '^(0x)?[0-9a-fA-F]{16}$',
        },
      },
    },
    registers: {
      type: 'object',
      description:
        'Accepted replayed values per register (`rtmr1`, `pcr7:sha256`, a vMR name); several variants allowed.',
      propertyNames: { pattern: '^[a-z0-9_]+(:[a-z0-9_-]+)?$' },
      additionalProperties: refList,
    },
    tenant_events: {
      type: 'object',
      description:
        'Allowed tenant events per vMR (`*` = any): rules on the line `<domain> <operation> <content>`.',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          minProperties: 1,
          maxProperties: 1,
          additionalProperties: false,
          properties: {
            exact: { type: 'string' },
            prefix: { type: 'string' },
            regex: { type: 'string', maxLength: 1024 },
          },
        },
      },
    },
    ima: {
      type: 'object',
      additionalProperties: false,
      properties: {
        digests: { ...digestMap, description: 'Allowed file digests (hex) per path.' },
        excludes: {
          type: 'array',
          description: 'Paths to skip: regexes matched at the start of the path (keylime).',
          items: { type: 'string', maxLength: 4096 },
        },
        keyrings: { ...digestMap, description: 'Allowed keys (SHA-256 of DER) per keyring.' },
        ignored_keyrings: nameList,
        ima_buf: { ...digestMap, description: 'Allowed ima-buf digests per name.' },
        keys: {
          type: 'array',
          description: 'Public keys (PEM or base64 SPKI) whose ima-sig signatures are accepted.',
          items: { type: 'string' },
        },
        agent_files: {
          type: 'array',
          description:
            'mr_ima lists: paths (the agent, node, its files) that must be measured before the first mr_ima token (entry index < that token’s count).',
          items: { type: 'string', minLength: 1, maxLength: 4096 },
        },
      },
    },
  },
  $defs: { refValue },
});

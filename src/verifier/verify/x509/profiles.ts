/**
 * The chain profiles: which certificate may stand at which position of each vendor's chain.
 *
 * | profile | path below the anchor (leaf first) | signatures | keys |
 * |---|---|---|---|
 * | Intel PCK | "… SGX PCK Certificate" (SGX extension, not a CA) ← "… SGX PCK Platform/Processor CA" | ECDSA-SHA256 | P-256 |
 * | Intel TCB signing | "… SGX TCB Signing" (not a CA) | ECDSA-SHA256 | P-256 |
 * | AMD VCEK | "SEV-VCEK" ← "SEV-<product>" (ASK) | RSASSA-PSS SHA-384 | P-384 leaf, RSA CA |
 * | AMD VLEK | "SEV-VLEK" ← "SEV-VLEK-<product>" (ASVK) | RSASSA-PSS SHA-384 | P-384 leaf, RSA CA |
 * | CCA platform | any leaf (not a CA) ← any CAs | the allowlist | EC |
 * | TPM AK | leaf with digitalSignature and an AK purpose ← any CAs | the allowlist | any |
 * | TPM EK | leaf (not a CA) for a decryption key ← any CAs | the allowlist | RSA or EC |
 *
 * Intel names may carry the prefix "mrstack Emulated" instead of "Intel" (the emulated PKI's
 * certificates name their roles the same way); trust still comes only from the anchor. For AMD
 * the ARK is `ARK-<product>` and every certificate of the path names the same product, which
 * must be the report's when the report names one. The TPM AK rule: the extendedKeyUsage must
 * hold tcg-kp-AIKCertificate (2.23.133.8.3) or tcg-kp-EKCertificate (2.23.133.8.1, which is what
 * Google's GCE AK certificates carry), and keyUsage, when present, digitalSignature.
 *
 * @module
 */
import { profileError, type ChainProfile, type RoleRule } from './chain.js';
import type { Certificate } from './certificate.js';

/** OID of Intel's SGX extension in PCK certificates. */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';
/** OID of AMD's product-name extension in VCEK/VLEK certificates. */
export const AMD_PRODUCT_NAME_OID = '1.3.6.1.4.1.3704.1.2';
/** tcg-kp-EKCertificate. */
export const TCG_KP_EK_CERTIFICATE = '2.23.133.8.1';
/** tcg-kp-AIKCertificate. */
export const TCG_KP_AIK_CERTIFICATE = '2.23.133.8.3';

const INTEL = '(?:Intel|mrstack Emulated)';

/** Intel root → PCK Platform/Processor CA → PCK leaf with the SGX extension. */
export const INTEL_PCK_PROFILE: ChainProfile = {
  name: 'PCK chain',
  levels: [
    {
      role: 'PCK leaf',
      cn: new RegExp(`^${INTEL} SGX PCK Certificate$`),
      key: 'P-256',
      signedWith: ['ecdsa-sha256'],
      requiredExtensions: [SGX_EXTENSION_OID],
      keyUsage: ['digitalSignature'],
    },
    {
      role: 'PCK CA',
      cn: new RegExp(`^${INTEL} SGX PCK (?:Platform|Processor) CA$`),
      key: 'P-256',
      signedWith: ['ecdsa-sha256'],
    },
  ],
  anchor: { role: 'Intel root', signedWith: ['ecdsa-sha256'] },
};

/** Intel root → "Intel SGX TCB Signing": the only signer of TCB info and QE identity. */
export const INTEL_TCB_SIGNING_PROFILE: ChainProfile = {
  name: 'TCB signing chain',
  levels: [
    {
      role: 'TCB signer',
      cn: new RegExp(`^${INTEL} SGX TCB Signing$`),
      key: 'P-256',
      signedWith: ['ecdsa-sha256'],
      keyUsage: ['digitalSignature'],
    },
  ],
  anchor: { role: 'Intel root', signedWith: ['ecdsa-sha256'] },
};

/** The AMD product a name like `ARK-Milan`, `SEV-Genoa`, `SEV-VLEK-Turin` carries. */
function productIn(cn: string, prefix: string): string | undefined {
  return cn.startsWith(prefix) ? cn.slice(prefix.length).toLowerCase() : undefined;
}

/**
 * ARK → ASK → VCEK or ARK → ASVK → VLEK, every certificate of one product generation (and of
 * `product`, the report's, when known).
 */
export function amdProfile(leafKind: 'vcek' | 'vlek', product?: string): ChainProfile {
  const pss: RoleRule['signedWith'] = ['rsa-pss-sha384'];
  const interPrefix = leafKind === 'vcek' ? 'SEV-' : 'SEV-VLEK-';
  const profile: ChainProfile = {
    name: `${leafKind.toUpperCase()} chain`,
    levels: [
      {
        role: leafKind.toUpperCase(),
        cn: leafKind === 'vcek' ? /^SEV-VCEK$/ : /^SEV-VLEK$/,
        key: 'P-384',
        signedWith: pss,
      },
      {
        role: leafKind === 'vcek' ? 'ASK' : 'ASVK',
        cn: leafKind === 'vcek' ? /^SEV-(?!VLEK-)[A-Za-z]+$/ : /^SEV-VLEK-[A-Za-z]+$/,
        key: 'rsa',
        signedWith: pss,
      },
    ],
    anchor: { role: 'ARK', cn: /^ARK-[A-Za-z]+$/, key: 'rsa', signedWith: pss },
    finally: (path: readonly Certificate[], anchor) => {
      const inter = path[1]!;
      const interProduct = productIn(inter.cn, interPrefix);
      const arkCn = anchor.certificate?.cn ?? inter.issuerCn;
      const arkProduct = productIn(arkCn, 'ARK-');
      if (interProduct === undefined || interProduct !== arkProduct) {
        throw profileError(
          profile,
          'product',
          1,
          inter,
          `"${inter.cn}" is not of the product of "${arkCn}"`,
        );
      }
      if (product !== undefined && interProduct !== product.toLowerCase()) {
        throw profileError(
          profile,
          'product',
          1,
          inter,
          `the chain is for ${interProduct}, the report for ${product.toLowerCase()}`,
        );
      }
      const leafProduct = path[0]!.extensions.get(AMD_PRODUCT_NAME_OID);
      if (leafProduct !== undefined) {
        // IA5String "Milan-B0": the product before the stepping.
        const text = Buffer.from(leafProduct.value.subarray(2)).toString('latin1');
        const p = text.split('-')[0]!.toLowerCase();
        if (p !== interProduct)
          throw profileError(
            profile,
            'product',
            0,
            path[0]!,
            `the leaf names product "${text}", the chain ${interProduct}`,
          );
      }
    },
  };
  return profile;
}

/** CCA platform x5chain: a leaf (the CPAK) under any number of CAs to the anchor. */
export const CCA_PLATFORM_PROFILE: ChainProfile = {
  name: 'CCA platform x5chain',
  levels: [{ role: 'CPAK certificate', key: 'ec', keyUsage: ['digitalSignature'] }, { role: 'CA' }],
  repeatLast: true,
  minLength: 1,
};

const AK_RULE: RoleRule = {
  role: 'AK certificate',
  keyUsage: ['digitalSignature'],
  eku: [TCG_KP_AIK_CERTIFICATE, TCG_KP_EK_CERTIFICATE],
};

/** TPM AK certificate chains: the AK leaf, then any CAs to the anchor. */
export const TPM_AK_PROFILE: ChainProfile = {
  name: 'AK certificate chain',
  levels: [AK_RULE, { role: 'CA' }],
  repeatLast: true,
  minLength: 1,
};

/**
 * TPM EK certificate chains (TCG EK Credential Profile 2.x): the EK leaf, then any CAs to the
 * TPM vendor's anchor. An EK decrypts (it never signs), so its keyUsage, when present, must allow
 * keyEncipherment (RSA) or keyAgreement (ECC); an extendedKeyUsage, when present, must hold
 * tcg-kp-EKCertificate. EK certificates carry an empty or placeholder subject and a critical
 * subjectAltName with the TPM manufacturer, model and version (RFC 5280 knows that extension).
 */
export const TPM_EK_PROFILE: ChainProfile = {
  name: 'EK certificate chain',
  levels: [{ role: 'EK certificate' }, { role: 'CA' }],
  repeatLast: true,
  minLength: 1,
  finally: (path: readonly Certificate[]) => {
    const leaf = path[0]!;
    const type = leaf.publicKey.asymmetricKeyType;
    const need = type === 'rsa' ? 'keyEncipherment' : type === 'ec' ? 'keyAgreement' : undefined;
    if (need === undefined) {
      throw profileError(
        TPM_EK_PROFILE,
        'key_type',
        0,
        leaf,
        `the EK key is ${type ?? '?'}, not RSA or EC`,
      );
    }
    if (leaf.keyUsage !== undefined && !leaf.keyUsage.has(need)) {
      throw profileError(
        TPM_EK_PROFILE,
        'key_usage',
        0,
        leaf,
        `an ${type === 'rsa' ? 'RSA' : 'EC'} EK certificate's keyUsage must allow ${need}`,
      );
    }
    const eku = leaf.extendedKeyUsage;
    if (eku !== undefined && !eku.includes(TCG_KP_EK_CERTIFICATE)) {
      throw profileError(
        TPM_EK_PROFILE,
        'extended_key_usage',
        0,
        leaf,
        `its extendedKeyUsage must hold tcg-kp-EKCertificate (${TCG_KP_EK_CERTIFICATE})`,
      );
    }
  },
};

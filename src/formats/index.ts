/**
 * `mrstack/formats`: pure parse/encode of event logs, evidence, TPM 2.0 structures and bundles, with the
 * errors, limits, byte and hash helpers they are built on.
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors, limits, bytes, crypto
export * from '../errors.js';
export * from '../limits.js';
export { ByteReader } from '../bytes/reader.js';
export type { ByteReaderOptions, ErrorDetail } from '../bytes/reader.js';
export { ByteWriter } from '../bytes/writer.js';
export { toHex, fromHex, bytesEqual, concatBytes } from '../bytes/hex.js';
export {
  HASH_ALGS,
  hashInfo,
  digestSize,
  lookupHashAlg,
  parseHashAlg,
  hashAlgFromId,
  hashAlgId,
} from '../crypto/hash_alg.js';
export type { HashAlg, HashAlgInfo } from '../crypto/hash_alg.js';
export { hash, hashEquals, hashParts, extend } from '../crypto/hash.js';

export { RecordReader } from './stream/record_reader.js';
export { ByteQueue } from './stream/byte_queue.js';
export { Framer, bytesInput, ownedChunks, toAsync } from './stream/framer.js';
export type { ByteInput, FramerOptions } from './stream/framer.js';
export { LineSplitter, readLines, decodeLine } from './stream/lines.js';
export type { Line, LineOptions, TooLongLine } from './stream/lines.js';
export type { PartialTail, TailDescription } from './stream/record_reader.js';
export { EventType, eventTypeName, eventTypeByName } from './tcg2/event_types.js';
export type { EventTypeName } from './tcg2/event_types.js';
export { parseSpecIdEvent, encodeSpecIdEvent } from './tcg2/spec_id_event.js';
export type { SpecIdEvent, SpecIdAlgorithm } from './tcg2/spec_id_event.js';
export type { LoggedDigest, TcgPcrRecord } from './tcg2/pcr_event.js';
export { describeTcgEventData, AAEL_TAGGED_EVENT_ID } from './tcg2/event_data.js';
export { devicePathToText } from './tcg2/device_path.js';
export { formatGuid } from './tcg2/guid.js';
export {
  parseCcelAcpiTable,
  encodeCcelAcpiTable,
  ccelChecksumOk,
  CCEL_TABLE_SIZE,
  CcType,
} from './ccel/acpi_table.js';
export type { CcelAcpiTable } from './ccel/acpi_table.js';
export { parseAaelLine, splitAaelEvent } from './aael/aael_line.js';
export type { AaelLine } from './aael/aael_line.js';
export {
  IMA_TEMPLATES,
  imaTemplateFields,
  decodeImaFields,
  imaEntryDetails,
  imaTemplateHashInput,
  isImaViolation,
  encodeImaTemplateData,
} from './ima/ima_template.js';
export type { ImaEntry, ImaField } from './ima/ima_template.js';
export {
  ImaBinaryReader,
  ImaBinaryScanner,
  ImaRecordView,
  detectImaBinaryLayout,
  parseImaBinary,
  readImaBinaryStream,
  encodeImaBinary,
  encodeImaBinaryEntry,
} from './ima/ima_binary.js';
export type { ImaBinaryLayout, ImaBinaryOptions } from './ima/ima_binary.js';
export {
  ImaAsciiReader,
  parseImaAscii,
  parseImaAsciiLine,
  readImaAsciiStream,
  encodeImaAscii,
  formatImaAsciiLine,
} from './ima/ima_ascii.js';
export { computeBootAggregate, bootAggregateWithoutTpm } from './ima/boot_aggregate.js';
export { ImaBankFold, ImaFold, checkImaFoldable, IMA_PCR } from './ima/ima_fold.js';
export type { ImaFoldOptions, ImaFoldedRegister } from './ima/ima_fold.js';
export { CEL_TLV_TYPES, celRegisterName } from './cel/cel_record.js';
export type { CelRecord, CelContent, CelDigest, CelRegister } from './cel/cel_record.js';
export {
  CelTlvReader,
  parseCelTlv,
  readCelTlvStream,
  encodeCelTlv,
  encodeCelTlvRecord,
} from './cel/cel_tlv.js';
export {
  parseCelJson,
  encodeCelJson,
  encodeCelJsonSeq,
  celRecordToJson,
  celRecordFromJson,
} from './cel/cel_json.js';
export { CelReplay, replayCel } from './cel/cel_replay.js';
export type { CelReplayResult } from './cel/cel_replay.js';
export {
  parseMrlogLine,
  formatMrlogRecord,
  findControlChar,
  isDomain,
  MRLOG_RESERVED,
  MR_IMA_VMR,
  IMA_TENANT,
  RESERVED_TOKEN_RE,
  NAME_RE as MRLOG_NAME_RE,
  DOMAIN_RE as MRLOG_DOMAIN_RE,
  OPERATION_RE as MRLOG_OPERATION_RE,
} from './mrlog/record.js';
export type {
  MrlogRecord,
  MrlogRecordBody,
  MrlogRecordKind,
  MrlogValue,
  MrlogVmrValue,
} from './mrlog/record.js';
export { parseMrlog, checkMrlogStructure, serializeMrlog } from './mrlog/parse.js';
export type { ParseMrlogOptions, ParsedMrlog, MrlogRole } from './mrlog/parse.js';
export { tenantEventLine } from './mrlog/event.js';
export {
  mrImaCommitment,
  mrImaBankAlgs,
  MR_IMA_COMMITMENT_LABEL,
  MR_IMA_SALT_SIZE,
} from './mrlog/mr_ima_commitment.js';
export type { MrImaCommitmentInput } from './mrlog/mr_ima_commitment.js';
export type { TenantEventInput } from './mrlog/event.js';
export {
  TDX_QUOTE,
  parseTdxQuote,
  encodeTdxQuote,
  encodeTdxQuoteSignedPart,
  encodeQeCertificationData,
  tdxQuoteClaims,
  tdAttributeFlags,
} from './tdx/quote.js';
export type {
  TdxQuote,
  TdxQuoteHeader,
  TdReportBody,
  QeReportCertificationData,
  TdxQuoteSignatureInit,
} from './tdx/quote.js';
export {
  ENCLAVE_REPORT_SIZE,
  readEnclaveReport,
  encodeEnclaveReport,
} from './tdx/enclave_report.js';
export type { EnclaveReport } from './tdx/enclave_report.js';
export {
  TDREPORT_SIZE,
  parseTdReport,
  encodeTdReport,
  checkTdReportHashes,
} from './tdx/tdreport.js';
export type { TdReport, TdReportInit } from './tdx/tdreport.js';
export type { TdSeamFields, TdMeasurementFields, TdMeasurementInit } from './tdx/td_identity.js';
export { SGX_EXTENSION_OID, parsePckExtension, encodePckExtension } from './tdx/pck_extension.js';
export type { PckExtension } from './tdx/pck_extension.js';
export {
  SNP_REPORT_SIZE,
  SNP_SIGNED_SIZE,
  SNP_REPORT_VERSIONS,
  SNP_SIGNATURE_ALGO,
  SNP_SIGNING_KEY,
  parseSnpReport,
  snpReportClaims,
  snpSignatureDer,
  decodeSnpPolicy,
  decodeSnpPlatformInfo,
  looksLikeSnpReport,
} from './snp/report.js';
export type {
  SnpReport,
  SnpPolicy,
  SnpPlatformInfo,
  SnpFirmwareVersion,
  ParseSnpReportOptions,
} from './snp/report.js';
export {
  decodeTcb,
  encodeTcb,
  formatTcb,
  tcbLayoutForFamily,
  tcbLayoutForProduct,
  productFromCpuid,
  productFromName,
} from './snp/tcb.js';
export type { SnpTcb, SnpTcbLayout, SnpProduct } from './snp/tcb.js';
export { encodeSnpReportBody, attachSnpSignature } from './snp/report_encode.js';
export type { SnpReportFields } from './snp/report_encode.js';
export {
  SNP_CERT_GUIDS,
  parseSnpCertTable,
  encodeSnpCertTable,
  guidToString,
  guidFromString,
} from './snp/cert_table.js';
export type { SnpCertEntry } from './snp/cert_table.js';
export { parseVcekExtensions } from './snp/vcek_extensions.js';
export type { VcekExtensions } from './snp/vcek_extensions.js';
export {
  HCL_MAGIC,
  HCL_REPORT_TYPE,
  parseHclReport,
  hclRuntimeKey,
  looksLikeHclReport,
} from './azure/hcl_report.js';
export type { HclReport } from './azure/hcl_report.js';
export { SVSM_GUIDS, parseSvsmManifest, encodeSvsmManifest } from './svsm/services_manifest.js';
export type { SvsmManifest, SvsmService } from './svsm/services_manifest.js';
export {
  COSE_ALGS,
  coseAlgInfo,
  parseCoseSign1,
  sigStructure,
  encodeCoseSign1,
} from './cca/cose_sign1.js';
export type { CoseSign1, CoseAlgInfo } from './cca/cose_sign1.js';
export {
  CCA_TAGS,
  CCA_KEYS,
  CCA_PLATFORM_CLAIMS,
  CCA_REALM_CLAIMS,
  parseCcaToken,
  ccaTokenClaims,
  looksLikeCcaToken,
} from './cca/token.js';
export type { CcaToken, CcaPlatformClaims, CcaRealmClaims, CcaSwComponent } from './cca/token.js';
export {
  TPM_ST,
  TPM_CC,
  TPM_ALG,
  TPM_ECC,
  TPM_RH,
  TPM_SU,
  TPM_SE,
  TPM_CAP,
  TPM_PT,
  TPMA_OBJECT,
  TPMA_SESSION,
  TPM_GENERATED_VALUE,
  TPM_HT,
  EK_CERT_NV_INDEX,
  TPM2_LIMITS,
} from './tpm2/constants.js';
export { decodeRc, formatRc, TpmRcError } from './tpm2/rc.js';
export { parsePcrList, formatPcrList, PCR_COUNT } from './tpm2/pcr_list.js';
export { decodeGoTpmAttestation, looksGoTpmAttestation } from './tpm2/gotpm_attestation.js';
export type { GoTpmAttestation, GoTpmQuote } from './tpm2/gotpm_attestation.js';
export type { PcrBankSelection } from './tpm2/pcr_list.js';
export type { TpmRcInfo } from './tpm2/rc.js';
export { encodeCommand, decodeResponse } from './tpm2/command.js';
export type { CommandSpec, ResponseFrame, ResponseSpec } from './tpm2/command.js';
export { readTpm2b, writeTpm2b, encodeTpm2b } from './tpm2/marshal/tpm2b.js';
export {
  readPcrSelectionList,
  writePcrSelectionList,
  encodePcrSelectionList,
} from './tpm2/marshal/pcr_selection.js';
export type { PcrSelection } from './tpm2/marshal/pcr_selection.js';
export {
  readDigestList,
  writeDigestList,
  readDigestValues,
  writeDigestValues,
  encodeDigestValues,
} from './tpm2/marshal/digests.js';
export type { TaggedDigest } from './tpm2/marshal/digests.js';
export {
  readPublic,
  writePublic,
  encodePublic,
  readPublic2b,
  readPublicArea,
} from './tpm2/marshal/public.js';
export type {
  TpmPublic,
  RsaPublic,
  EccPublic,
  PublicArea,
  SymDef,
  Scheme,
} from './tpm2/marshal/public.js';
export { readAttest, writeAttest, encodeAttest, parseAttest } from './tpm2/marshal/attest.js';
export type { TpmsAttest, Attested, ClockInfo } from './tpm2/marshal/attest.js';
export {
  readSignature,
  writeSignature,
  encodeSignature,
  parseSignature,
} from './tpm2/marshal/signature.js';
export type { TpmtSignature } from './tpm2/marshal/signature.js';
export { readContext, writeContext, encodeContext, parseContext } from './tpm2/marshal/context.js';
export type { TpmsContext } from './tpm2/marshal/context.js';
export { passwordAuth, policyAuth } from './tpm2/marshal/auth.js';
export type { AuthCommand, AuthResponse } from './tpm2/marshal/auth.js';
export { ekTemplate, srkTemplate, akTemplate, EK_AUTH_POLICY_SHA256 } from './tpm2/templates.js';
export type { KeyAlg } from './tpm2/templates.js';
export {
  publicToJwk,
  publicToKeyObject,
  publicToPem,
  publicFromKeyObject,
  objectName,
} from './tpm2/public_key.js';
export { makeCredential, kdfa, kdfe } from './tpm2/credential.js';
export type { MadeCredential, MakeCredentialOptions } from './tpm2/credential.js';
export { evidenceBinding, EVIDENCE_LABEL, REPORT_BINDING_LABEL } from './envelope/binding.js';
export {
  encodeReportEnvelope,
  parseReportEnvelope,
  REPORT_ENVELOPE_FORMAT,
  ENVELOPE_KINDS,
} from './envelope/report_envelope.js';
export type {
  EnvelopeKind,
  ReportEnvelopeInput,
  ReportEnvelope as ParsedReportEnvelope,
} from './envelope/report_envelope.js';
export {
  merkleLeaf,
  merkleNode,
  merkleRoot,
  merkleProof,
  merkleRootFromProof,
  verifyMerkleProof,
} from './bundle/merkle.js';
export { parseBundle, bundleToJson, BUNDLE_FORMAT, BUNDLE_VERSION } from './bundle/bundle.js';
export type {
  EvidenceBundle,
  BundleReport,
  BundleBinding,
  BundleLogWindow,
  BundlePhysicalLog,
  BundleTenantLog,
  BundleImaLog,
  BundleFirmwareLog,
} from './bundle/bundle.js';
export { parseTrustedCheckpoint, parseTrustedTenantCheckpoints } from './bundle/checkpoint_spec.js';
export type { TrustedCheckpoint, TrustedTenantCheckpointSpec } from './bundle/checkpoint_spec.js';

/**
 * mrstack's public API: named re-exports only, no logic. Every public symbol is exported from
 * here and nowhere else (the package's `exports` map blocks deep imports).
 *
 * @module
 */

// errors, limits, bytes, crypto
export {
  ERROR_CODES,
  MrstackError,
  ParseError,
  UsageError,
  ProviderError,
  ReplayError,
  VerifyError,
  PolicyError,
  AgentError,
  isMrstackError,
  describeCode,
  fromErrno,
} from './errors.js';
export type {
  ErrorCode,
  ExitCode,
  CodeInfo,
  ParseErrorCode,
  ParseErrorInit,
  FormatId,
  MrstackErrorOptions,
} from './errors.js';
export { DEFAULT_LIMITS, withLimits } from './limits.js';
export type { Limits } from './limits.js';
export { ByteReader } from './bytes/reader.js';
export type { ByteReaderOptions, ErrorDetail } from './bytes/reader.js';
export { ByteWriter } from './bytes/writer.js';
export { toHex, fromHex, bytesEqual, concatBytes } from './bytes/hex.js';
export {
  HASH_ALGS,
  hashInfo,
  digestSize,
  lookupHashAlg,
  parseHashAlg,
  hashAlgFromId,
  hashAlgId,
} from './crypto/hash_alg.js';
export type { HashAlg, HashAlgInfo } from './crypto/hash_alg.js';
export { hash, hashEquals, hashParts, extend } from './crypto/hash.js';

// providers: the interface, emulated, linux, tpm; the emulated kernel-ABI mount
export { parseMrSelector, formatMrSelector, selectMrs } from './providers/provider.js';
export type {
  Provider,
  ProviderKind,
  Profile,
  MrInfo,
  MrSelector,
  MrValue,
  ExtendInput,
  ExtendResult,
  ReportRequest,
  ReportFormat,
  RawReport,
  IoOptions,
} from './providers/provider.js';
export {
  openEmulatedProvider,
  EmulatedProvider,
  SNAPSHOT_EVERY_RECORDS,
} from './providers/emulated/emulated_provider.js';
export type { OpenEmulatedProviderOptions } from './providers/emulated/emulated_provider.js';
export {
  initEmulatedTvm,
  resolveTvmStateDir,
  readTvmConfig,
  TVM_FILES,
} from './providers/emulated/tvm_state.js';
export type { TvmConfig, InitEmulatedTvmOptions } from './providers/emulated/tvm_state.js';
export { PROFILES, TPM_BANKS, CCA_HASH_ALGS, tpmPcrReset } from './providers/emulated/profiles.js';
export {
  encodeTraceRecord,
  decodeTraceRecord,
  TRACE_RECORD_SIZE,
  TRACE_OFFSETS,
  TRACE_PROFILE_IDS,
} from './providers/emulated/trace_record.js';
export type { TraceRecord } from './providers/emulated/trace_record.js';
export { EMULATED_REPORTS } from './providers/emulated/report.js';
export type {
  EmulatedReportContext,
  EmulatedReportFn,
  EmulatedRegister,
} from './providers/emulated/report.js';
export { makeEmulatedSnpReport, loadOrCreateSnpKeys } from './providers/emulated/report_snp.js';
export type { EmulatedSnpKeys } from './providers/emulated/report_snp.js';
export { makeEmulatedCcaToken, loadOrCreateCcaKeys } from './providers/emulated/report_cca.js';
export type { EmulatedCcaKeys } from './providers/emulated/report_cca.js';
export {
  tpmEmulatedReport,
  loadEmulatedAk,
  emulatedAkPublic,
} from './providers/emulated/report_tpm.js';
export { openLinuxProvider, probeLinux } from './providers/linux/linux_provider.js';
export type { LinuxProvider, LinuxProviderOptions } from './providers/linux/linux_provider.js';
export { nodeTsmFs } from './providers/linux/tsm_fs.js';
export type { TsmFs, TsmStat } from './providers/linux/tsm_fs.js';
export { requestTsmReport } from './providers/linux/configfs_report.js';
export type { TsmReportOptions } from './providers/linux/configfs_report.js';
export { findKernelLogs, openKernelLog } from './providers/linux/log_locations.js';
export type { KernelLog, KernelLogKind } from './providers/linux/log_locations.js';
export { KNOWN_TSM_MR_DEVICES, TSM_REPORT_PROVIDERS } from './providers/linux/devices.js';
export type { KnownDevice, KnownMr } from './providers/linux/devices.js';
export { Tpm } from './providers/tpm/tpm.js';
export type { PcrReading, LoadedKey } from './providers/tpm/tpm.js';
export { TpmProvider, openTpmProvider, openTpmTransport } from './providers/tpm/tpm_provider.js';
export type { TpmProviderOptions, TpmLocation } from './providers/tpm/tpm_provider.js';
export type { TpmTransport } from './providers/tpm/transport.js';
export { DeviceTransport, DEFAULT_TPM_DEVICE } from './providers/tpm/device_transport.js';
export {
  SwtpmTransport,
  SwtpmControl,
  SWTPM_CTRL,
  parseSocketAddress,
  formatAddress,
} from './providers/tpm/swtpm_transport.js';
export type { SocketAddress } from './providers/tpm/swtpm_transport.js';
export {
  createEk,
  createSrk,
  createAk,
  loadAk,
  readEkCertificate,
  encodeAkBlob,
  decodeAkBlob,
} from './providers/tpm/identity.js';
export type { AkBlob } from './providers/tpm/identity.js';
export { startSwtpm, setupSwtpmState, findFreePortPair } from './providers/tpm/swtpm_process.js';
export type {
  SwtpmInstance,
  StartSwtpmOptions,
  SwtpmSetupOptions,
} from './providers/tpm/swtpm_process.js';
export { checkAgentPcr, RESETTABLE_PCRS, DRTM_PCRS } from './providers/tpm/agent_pcrs.js';
export { mountEmulatedTvm } from './emulate/fuse_mount.js';
export type { EmulatedMount, MountOptions } from './emulate/fuse_mount.js';
export type { EmulatedKernelOptions } from './emulate/tsm_report_dir.js';

// event logs: event model, framing, format registry, replay
export { ANCHOR_KINDS } from './eventlog/event.js';
export type {
  AnchorKind,
  AnyIterable,
  AppEvent,
  DirectiveEvent,
  EventAnchor,
  EventBase,
  EventKind,
  EventKindMap,
  EventSource,
  LogEvent,
  Tcg2Event,
  Verified,
} from './eventlog/event.js';
export { Framer, readLines, bytesInput, ownedChunks, toAsync } from './eventlog/framing.js';
export type { FramerOptions, Line, LineOptions } from './eventlog/framing.js';
export type {
  DigestCheck,
  LogEncodeOptions,
  LogFormat,
  LogFormatId,
  LogParseOptions,
  LogWarning,
} from './eventlog/log_format.js';
export { eventBatches, flattenBatches } from './eventlog/log_format.js';
export {
  BUILTIN_LOG_FORMATS,
  DETECT_HEAD_BYTES,
  detectLogFormat,
  findLogFormat,
  getLogFormat,
  logFormats,
  registerLogFormat,
} from './eventlog/registry.js';
export { Replay, replay, replayEvents, compareRegisters } from './eventlog/replay.js';
export type {
  ExpectedValues,
  RegisterValues,
  ReplayAllOptions,
  ReplayMismatch,
  ReplayOptions,
  ReplayResult,
  VerifiedReplay,
} from './eventlog/replay.js';
export {
  applyWorkarounds,
  findWorkaround,
  workaroundDigests,
  REPLAY_WORKAROUNDS,
  WORKAROUND_FAMILIES,
} from './eventlog/workarounds.js';
export type { ReplayWorkaround, WorkaroundFamily } from './eventlog/workarounds.js';
export { parseExpectedJson } from './eventlog/expect.js';
export { openLogFile, openLogStream, logFileSize } from './eventlog/log_source.js';
export type { OpenedLog, OpenLogOptions } from './eventlog/log_source.js';
export {
  ccMrName,
  isReplayable,
  pcrName,
  pcrToCcMrIndex,
  rtmrToCcMrIndex,
  PCR_INDEX_NONE,
  PCR_MAP_NAMES,
} from './eventlog/mr_map.js';
export type { PcrMapName } from './eventlog/mr_map.js';
export { resetValue } from './eventlog/reset_values.js';
export { TcgLogWriter, encodeTcgLog } from './eventlog/tcg2_writer.js';
export type { TcgRecordInput, TcgLogWriterOptions } from './eventlog/tcg2_writer.js';
export { tcg2Format } from './eventlog/tcg2_format.js';
export { ccelFormat, isAaelV2Record } from './eventlog/ccel_format.js';
export { aaelFormat, AAEL_DEFAULT_REGISTER } from './eventlog/aael_format.js';
export { imaBinaryFormat, imaAsciiFormat } from './eventlog/ima_format.js';
export type { ImaEvent } from './eventlog/ima_format.js';
export { celTlvFormat, celJsonFormat } from './eventlog/cel_format.js';
export type { CelEvent } from './eventlog/cel_format.js';
export { MrlogReplayer, replayMrlog } from './eventlog/mrlog_replay.js';
export type {
  BankValues,
  MrlogStart,
  MrlogGap,
  VmrObservation,
  MrlogReplayOptions,
  MrlogReplayResult,
} from './eventlog/mrlog_replay.js';
export { replayVmr, vmrExtend, vmrInitial } from './eventlog/mrlog_vmr.js';
export type { VmrReplayResult } from './eventlog/mrlog_vmr.js';
export { mrlogEventsToCel, mrlogCelRegister, MRLOG_CEL_EVENT_TYPES } from './eventlog/mrlog_cel.js';

// formats: pure parse/encode of event logs, evidence, TPM 2.0 structures, bundles
export { RecordReader } from './formats/stream/record_reader.js';
export type { PartialTail, TailDescription } from './formats/stream/record_reader.js';
export { EventType, eventTypeName, eventTypeByName } from './formats/tcg2/event_types.js';
export type { EventTypeName } from './formats/tcg2/event_types.js';
export { parseSpecIdEvent, encodeSpecIdEvent } from './formats/tcg2/spec_id_event.js';
export type { SpecIdEvent, SpecIdAlgorithm } from './formats/tcg2/spec_id_event.js';
export type { LoggedDigest, TcgPcrRecord } from './formats/tcg2/pcr_event.js';
export { describeTcgEventData, AAEL_TAGGED_EVENT_ID } from './formats/tcg2/event_data.js';
export { devicePathToText } from './formats/tcg2/device_path.js';
export { formatGuid } from './formats/tcg2/guid.js';
export {
  parseCcelAcpiTable,
  encodeCcelAcpiTable,
  ccelChecksumOk,
  CCEL_TABLE_SIZE,
  CcType,
} from './formats/ccel/acpi_table.js';
export type { CcelAcpiTable } from './formats/ccel/acpi_table.js';
export { parseAaelLine, splitAaelEvent } from './formats/aael/aael_line.js';
export type { AaelLine } from './formats/aael/aael_line.js';
export {
  IMA_TEMPLATES,
  imaTemplateFields,
  decodeImaFields,
  imaEntryDetails,
  imaTemplateHashInput,
  isImaViolation,
  encodeImaTemplateData,
} from './formats/ima/ima_template.js';
export type { ImaEntry, ImaField } from './formats/ima/ima_template.js';
export {
  ImaBinaryReader,
  detectImaBinaryLayout,
  parseImaBinary,
  readImaBinaryStream,
  encodeImaBinary,
  encodeImaBinaryEntry,
} from './formats/ima/ima_binary.js';
export type { ImaBinaryLayout, ImaBinaryOptions } from './formats/ima/ima_binary.js';
export {
  ImaAsciiReader,
  parseImaAscii,
  parseImaAsciiLine,
  readImaAsciiStream,
  encodeImaAscii,
  formatImaAsciiLine,
} from './formats/ima/ima_ascii.js';
export {
  ImaReplay,
  replayIma,
  computeBootAggregate,
  bootAggregateWithoutTpm,
} from './formats/ima/ima_replay.js';
export type { ImaReplayOptions, ImaReplayResult, ImaBankMode } from './formats/ima/ima_replay.js';
export { CEL_TLV_TYPES, celRegisterName } from './formats/cel/cel_record.js';
export type { CelRecord, CelContent, CelDigest, CelRegister } from './formats/cel/cel_record.js';
export {
  CelTlvReader,
  parseCelTlv,
  readCelTlvStream,
  encodeCelTlv,
  encodeCelTlvRecord,
} from './formats/cel/cel_tlv.js';
export {
  parseCelJson,
  encodeCelJson,
  encodeCelJsonSeq,
  celRecordToJson,
  celRecordFromJson,
} from './formats/cel/cel_json.js';
export { CelReplay, replayCel } from './formats/cel/cel_replay.js';
export type { CelReplayResult } from './formats/cel/cel_replay.js';
export {
  parseMrlogLine,
  formatMrlogRecord,
  findControlChar,
  isDomain,
  MRLOG_RESERVED,
  RESERVED_TOKEN_RE,
  NAME_RE as MRLOG_NAME_RE,
  DOMAIN_RE as MRLOG_DOMAIN_RE,
  OPERATION_RE as MRLOG_OPERATION_RE,
} from './formats/mrlog/record.js';
export type {
  MrlogRecord,
  MrlogRecordBody,
  MrlogRecordKind,
  MrlogValue,
  MrlogVmrValue,
} from './formats/mrlog/record.js';
export { parseMrlog, checkMrlogStructure, serializeMrlog } from './formats/mrlog/parse.js';
export type { ParseMrlogOptions, ParsedMrlog, MrlogRole } from './formats/mrlog/parse.js';
export { tenantEventLine } from './formats/mrlog/event.js';
export type { TenantEventInput } from './formats/mrlog/event.js';
export {
  TDX_QUOTE,
  parseTdxQuote,
  encodeTdxQuote,
  encodeTdxQuoteSignedPart,
  encodeQeCertificationData,
  tdxQuoteClaims,
  tdAttributeFlags,
} from './formats/tdx/quote.js';
export type {
  TdxQuote,
  TdxQuoteHeader,
  TdReportBody,
  QeReportCertificationData,
  TdxQuoteSignatureInit,
} from './formats/tdx/quote.js';
export {
  ENCLAVE_REPORT_SIZE,
  readEnclaveReport,
  encodeEnclaveReport,
} from './formats/tdx/enclave_report.js';
export type { EnclaveReport } from './formats/tdx/enclave_report.js';
export {
  TDREPORT_SIZE,
  parseTdReport,
  encodeTdReport,
  checkTdReportHashes,
} from './formats/tdx/tdreport.js';
export type { TdReport, TdReportInit } from './formats/tdx/tdreport.js';
export type {
  TdSeamFields,
  TdMeasurementFields,
  TdMeasurementInit,
} from './formats/tdx/td_identity.js';
export {
  SGX_EXTENSION_OID,
  parsePckExtension,
  encodePckExtension,
} from './formats/tdx/pck_extension.js';
export type { PckExtension } from './formats/tdx/pck_extension.js';
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
} from './formats/snp/report.js';
export type {
  SnpReport,
  SnpPolicy,
  SnpPlatformInfo,
  SnpFirmwareVersion,
  ParseSnpReportOptions,
} from './formats/snp/report.js';
export {
  decodeTcb,
  encodeTcb,
  formatTcb,
  tcbLayoutForFamily,
  tcbLayoutForProduct,
  productFromCpuid,
  productFromName,
} from './formats/snp/tcb.js';
export type { SnpTcb, SnpTcbLayout, SnpProduct } from './formats/snp/tcb.js';
export { encodeSnpReportBody, attachSnpSignature } from './formats/snp/report_encode.js';
export type { SnpReportFields } from './formats/snp/report_encode.js';
export {
  SNP_CERT_GUIDS,
  parseSnpCertTable,
  encodeSnpCertTable,
  guidToString,
  guidFromString,
} from './formats/snp/cert_table.js';
export type { SnpCertEntry } from './formats/snp/cert_table.js';
export { parseVcekExtensions } from './formats/snp/vcek_extensions.js';
export type { VcekExtensions } from './formats/snp/vcek_extensions.js';
export { parseCrlWindow, parseKdsCrl, serialHex } from './formats/snp/kds_crl.js';
export type { CrlWindow, KdsCrl } from './formats/snp/kds_crl.js';
export {
  HCL_MAGIC,
  HCL_REPORT_TYPE,
  parseHclReport,
  hclRuntimeKey,
  looksLikeHclReport,
} from './formats/azure/hcl_report.js';
export type { HclReport } from './formats/azure/hcl_report.js';
export {
  SVSM_GUIDS,
  parseSvsmManifest,
  encodeSvsmManifest,
} from './formats/svsm/services_manifest.js';
export type { SvsmManifest, SvsmService } from './formats/svsm/services_manifest.js';
export {
  COSE_ALGS,
  coseAlgInfo,
  parseCoseSign1,
  sigStructure,
  encodeCoseSign1,
} from './formats/cca/cose_sign1.js';
export type { CoseSign1, CoseAlgInfo } from './formats/cca/cose_sign1.js';
export {
  CCA_TAGS,
  CCA_KEYS,
  CCA_PLATFORM_CLAIMS,
  CCA_REALM_CLAIMS,
  parseCcaToken,
  ccaTokenClaims,
  looksLikeCcaToken,
} from './formats/cca/token.js';
export type {
  CcaToken,
  CcaPlatformClaims,
  CcaRealmClaims,
  CcaSwComponent,
} from './formats/cca/token.js';
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
} from './formats/tpm2/constants.js';
export { decodeRc, formatRc, TpmRcError } from './formats/tpm2/rc.js';
export type { TpmRcInfo } from './formats/tpm2/rc.js';
export { encodeCommand, decodeResponse } from './formats/tpm2/command.js';
export type { CommandSpec, ResponseFrame, ResponseSpec } from './formats/tpm2/command.js';
export { readTpm2b, writeTpm2b, encodeTpm2b } from './formats/tpm2/marshal/tpm2b.js';
export {
  readPcrSelectionList,
  writePcrSelectionList,
  encodePcrSelectionList,
} from './formats/tpm2/marshal/pcr_selection.js';
export type { PcrSelection } from './formats/tpm2/marshal/pcr_selection.js';
export {
  readDigestList,
  writeDigestList,
  readDigestValues,
  writeDigestValues,
  encodeDigestValues,
} from './formats/tpm2/marshal/digests.js';
export type { TaggedDigest } from './formats/tpm2/marshal/digests.js';
export {
  readPublic,
  writePublic,
  encodePublic,
  readPublic2b,
} from './formats/tpm2/marshal/public.js';
export type {
  TpmPublic,
  RsaPublic,
  EccPublic,
  PublicArea,
  SymDef,
  Scheme,
} from './formats/tpm2/marshal/public.js';
export {
  readAttest,
  writeAttest,
  encodeAttest,
  parseAttest,
} from './formats/tpm2/marshal/attest.js';
export type { TpmsAttest, Attested, ClockInfo } from './formats/tpm2/marshal/attest.js';
export {
  readSignature,
  writeSignature,
  encodeSignature,
  parseSignature,
} from './formats/tpm2/marshal/signature.js';
export type { TpmtSignature } from './formats/tpm2/marshal/signature.js';
export {
  readContext,
  writeContext,
  encodeContext,
  parseContext,
} from './formats/tpm2/marshal/context.js';
export type { TpmsContext } from './formats/tpm2/marshal/context.js';
export { passwordAuth, policyAuth } from './formats/tpm2/marshal/auth.js';
export type { AuthCommand, AuthResponse } from './formats/tpm2/marshal/auth.js';
export {
  ekTemplate,
  srkTemplate,
  akTemplate,
  EK_AUTH_POLICY_SHA256,
} from './formats/tpm2/templates.js';
export type { KeyAlg } from './formats/tpm2/templates.js';
export {
  publicToJwk,
  publicToKeyObject,
  publicToPem,
  publicFromKeyObject,
  objectName,
} from './formats/tpm2/public_key.js';
export { makeCredential, kdfa, kdfe } from './formats/tpm2/credential.js';
export type { MadeCredential, MakeCredentialOptions } from './formats/tpm2/credential.js';
export { evidenceBinding, EVIDENCE_LABEL } from './formats/bundle/binding.js';
export {
  merkleLeaf,
  merkleNode,
  merkleRoot,
  merkleProof,
  merkleRootFromProof,
  verifyMerkleProof,
} from './formats/bundle/merkle.js';
export {
  parseBundle,
  bundleToJson,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
} from './formats/bundle/bundle.js';
export type {
  EvidenceBundle,
  BundleReport,
  BundleBinding,
  BundleLogWindow,
  BundlePhysicalLog,
  BundleTenantLog,
  BundleFirmwareLog,
} from './formats/bundle/bundle.js';
export { parseTrustedCheckpoint } from './formats/bundle/checkpoint_spec.js';
export type { TrustedCheckpoint } from './formats/bundle/checkpoint_spec.js';

// verifier: verify (signatures, chains, TCB), replay, collateral
export {
  EVIDENCE_VERIFIERS,
  decodeEvidenceInput,
  detectEvidenceKind,
  showEvidence,
  verifyEvidence,
} from './verifier/verify/evidence.js';
export type { ReportEnvelope, DecodedEvidenceInput } from './verifier/verify/evidence.js';
export {
  EVIDENCE_KINDS,
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
} from './verifier/verify/evidence_result.js';
export type {
  EvidenceKind,
  EvidenceIssue,
  CheckOutcome,
  TrustInfo,
  EvidenceResult,
  EvidenceShowResult,
  CollateralInput,
  VerifyEvidenceOptions,
  ResolvedVerifyOptions,
  EvidenceVerifier,
} from './verifier/verify/evidence_result.js';
export {
  TdxQuoteVerifier,
  TDX_VERIFIER,
  looksLikeTdxQuote,
  pckExtensionOf,
} from './verifier/verify/tdx_verifier.js';
export type { TdxVerifierConfig, TdxVerifyOptions } from './verifier/verify/tdx_verifier.js';
export {
  TCB_STATUS,
  evaluateTdxTcb,
  matchTdxTcbLevel,
  convergeTcbStatus,
  checkQeIdentity,
} from './verifier/verify/tdx_tcb.js';
export type { TdxTcbInput, TdxTcbEvaluation } from './verifier/verify/tdx_tcb.js';
export { INTEL_SGX_ROOT_CA_PEM } from './verifier/verify/tdx_roots.js';
export {
  EMULATED_ROOT_ORGANIZATION,
  parseCertificate,
  verifyCertChain,
  parseCrl,
  verifyCrl,
  isRevoked,
  isEmulatedRoot,
} from './verifier/verify/x509_chain.js';
export type { VerifiedChain, ChainOptions, Crl } from './verifier/verify/x509_chain.js';
export {
  verifySnpReport,
  verifyParsedSnpReport,
  showSnpReport,
  snpSignatureValid,
  SNP_VERIFIER,
  SNP_CHECKS,
} from './verifier/verify/snp.js';
export type { SnpVerifyOptions } from './verifier/verify/snp.js';
export {
  SnpChainCache,
  buildSnpChain,
  checkChainValidity,
  loadCertificates,
} from './verifier/verify/snp_chain.js';
export type { SnpVerifiedChain, SnpChainOptions, ChainLink } from './verifier/verify/snp_chain.js';
export { AMD_ROOTS } from './verifier/verify/snp_roots.js';
export type { AmdProductCerts } from './verifier/verify/snp_roots.js';
export {
  checkHclBinding,
  hclAkPublicKey,
  checkHclAkMatches,
} from './verifier/verify/binding_hcl.js';
export {
  checkSvsmBinding,
  svsmReportData,
  svsmVtpmEkPublic,
} from './verifier/verify/binding_svsm.js';
export {
  verifyCcaToken,
  loadCcaTrustAnchors,
  realmPublicKey,
  coseSignatureValid,
  CCA_VERIFIER,
} from './verifier/verify/cca.js';
export type { CcaVerifyOptions, CcaTrustAnchor } from './verifier/verify/cca.js';
export {
  verifyTpmQuote,
  parsePcrValues,
  akFromBytes,
  loadAkPublicKey,
  pssSaltLength,
  selectedPcrValues,
  TPM_QUOTE_VERIFIER,
} from './verifier/verify/tpm_quote.js';
export type {
  TpmQuoteInput,
  TpmQuoteResult,
  TpmQuoteClaims,
  TpmQuoteIssue,
  PcrValues,
  AkInput,
} from './verifier/verify/tpm_quote.js';
export { BUNDLE_VERIFIER } from './verifier/verify/bundle.js';
export {
  replayBundle,
  agentRegisterReset,
  replayFirmwareLog,
} from './verifier/replay/bundle_replay.js';
export type {
  FirmwareReplay,
  CheckpointSeen,
  ReportedValues,
  BundleReplayOptions,
  BundleReplayResult,
  LayerIssue,
  TenantEventView,
} from './verifier/replay/bundle_replay.js';
export {
  parseTdxCollateralFiles,
  parseQuoteCollateralV3,
  parseTdxTcbInfo,
  parseQeIdentity,
} from './verifier/collateral/tdx_collateral.js';
export type {
  TdxCollateral,
  TdxTcbInfo,
  TdxTcbLevel,
  QeIdentity,
  IsvTcbLevel,
  TdxModuleIdentity,
  SignedJson,
} from './verifier/collateral/tdx_collateral.js';
export {
  CollateralCache,
  defaultCollateralCacheDir,
  COLLATERAL_META_FORMAT,
} from './verifier/collateral/cache.js';
export type { CacheEntryMeta, CachedItem, NewCachedItem } from './verifier/collateral/cache.js';
export { PoliteFetcher, retryAfterMs } from './verifier/collateral/cache_http.js';
export type { PoliteFetcherOptions, HttpResponse } from './verifier/collateral/cache_http.js';
export { fetchTdxCollateral, INTEL_PCS_URL } from './verifier/collateral/pcs.js';
export type { TdxFetchOptions, FetchResult } from './verifier/collateral/pcs.js';
export { fetchSnpCollateral, kdsVcekUrl, AMD_KDS_URL } from './verifier/collateral/kds.js';
export type { SnpFetchOptions } from './verifier/collateral/kds.js';

// verifier/appraise: findings, finding ids, appraisal inputs (DESIGN §6.3)
export {
  FINDING_IDS,
  FINDING_STATUSES,
  appraisalStatus,
  findingIdInfo,
  replayFindingId,
} from './verifier/appraise/finding.js';
export type {
  Finding,
  FindingId,
  FindingIdInfo,
  FindingIdKey,
  FindingLayer,
  FindingStatus,
  FindingSubject,
  FindingWhere,
} from './verifier/appraise/finding.js';
export type {
  Appraisal,
  AppraisedKind,
  AppraiseOptions,
  ImaCounts,
  ImaInput,
  ImaRecord,
  ProofState,
  ProvenClaims,
  ReplayedEvidence,
  ReplayedRegister,
  ReplayedTenantEvent,
} from './verifier/appraise/appraisal_input.js';

export { appraise } from './verifier/appraise/appraise.js';
export {
  DEFAULT_POLICY,
  RefSet,
  canonicalJson,
  compilePolicy,
  defaultPolicy,
  parsePolicy,
  policyId,
  validatePolicy,
} from './verifier/appraise/policy.js';
export type {
  CompiledPolicy,
  CompiledIma,
  LoadedPolicy,
  PolicyV1,
  RefValue,
  TenantRule,
  TenantMatcher,
} from './verifier/appraise/policy.js';
export { POLICY_SCHEMA } from './verifier/appraise/policy_schema.js';
export {
  MAX_REGEX_LENGTH,
  compileExcludes,
  translatePythonRegex,
} from './verifier/appraise/python_regex.js';
export type { TranslatedRegex } from './verifier/appraise/python_regex.js';
export { appraiseEvidence, appraiseLogs } from './verifier/appraise/appraise_evidence.js';
export type {
  AppraiseEvidenceOptions,
  EvidenceAppraisal,
} from './verifier/appraise/appraise_evidence.js';
export { bundleReplayOf, claimHex, provenClaimsOf } from './verifier/appraise/proven_claims.js';
export type { ProvenClaimsOptions } from './verifier/appraise/proven_claims.js';
export { replayLogs, reportedValue } from './verifier/appraise/replayed_logs.js';
export type { ReplayLogsOptions } from './verifier/appraise/replayed_logs.js';
export {
  imaKeyOf,
  imaRecordOf,
  judgeImaList,
  verifyImaSignature,
} from './verifier/appraise/ima_rules.js';
export type { ImaKey, ImaJudgement } from './verifier/appraise/ima_rules.js';
export { generatePolicy } from './verifier/appraise/policy_generate.js';
export { dssePae, importKeylimePolicy } from './verifier/appraise/import_keylime.js';
export {
  MAX_VARIANT_VALUES,
  importPcrlock,
  parsePcrlock,
  predictPcrlock,
} from './verifier/appraise/import_pcrlock.js';
export type {
  PcrlockComponent,
  PcrlockFile,
  PcrlockRecord,
} from './verifier/appraise/import_pcrlock.js';
export { RVPS_FIELDS, importRvps } from './verifier/appraise/import_rvps.js';
export type { RvpsImport } from './verifier/appraise/import_rvps.js';

// agent: the measurement agent, server, clients, tenants
export { compressLogFile, compressArchivedLogs, readLogFile } from './agent/physical_log.js';
export { Agent } from './agent/agent.js';
export type {
  AgentOptions,
  AgentLogger,
  AppendResult,
  EventStatus,
  OffLogEvent,
  CheckpointPolicy,
} from './agent/agent.js';
export { AgentServer, httpStatusOf, appendResultToJson } from './agent/server.js';
export type { AgentServerOptions } from './agent/server.js';
export { TenantClient, AdminClient } from './agent/client.js';
export type { AgentClientOptions, AppendResponse } from './agent/client.js';
export { DURABILITIES } from './agent/append_file.js';
export type { Durability } from './agent/append_file.js';
export {
  DEFAULT_TENANT_LIMITS,
  readTenantsFile,
  parseTenantConfig,
} from './agent/tenant_config.js';
export type { TenantConfig, TenantLimits } from './agent/tenant_config.js';
export { FAULT_STEPS } from './agent/fault.js';

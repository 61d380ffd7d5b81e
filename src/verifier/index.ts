/**
 * `mrstack/verifier`: evidence verification (signatures, chains, TCB), bundle replay and
 * collateral. It loads no agent, provider, FUSE or service code (a meta-test checks).
 * Named re-exports only, no logic; the package's `exports` map blocks deep imports, so this file
 * is the layer's public surface.
 *
 * @module
 */

// errors and limits, shared by every layer
export * from '../errors.js';
export * from '../limits.js';

export {
  EVIDENCE_VERIFIERS,
  decodeEvidenceInput,
  detectEvidenceKind,
  showEvidence,
  verifyEvidence,
} from './verify/evidence.js';
export type { ReportEnvelope, DecodedEvidenceInput } from './verify/evidence.js';
export { renderEvidenceResult } from './verify/render_result.js';
export type { RenderOptions } from './verify/render_result.js';
export {
  EVIDENCE_KINDS,
  ResultBuilder,
  checkReportDataNonce,
  reportDataBinding,
} from './verify/evidence_result.js';
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
} from './verify/evidence_result.js';
export {
  TdxQuoteVerifier,
  TDX_VERIFIER,
  looksLikeTdxQuote,
  pckExtensionOf,
} from './verify/tdx_verifier.js';
export type { TdxVerifierConfig, TdxVerifyOptions } from './verify/tdx_verifier.js';
export {
  TCB_STATUS,
  evaluateTdxTcb,
  matchTdxTcbLevel,
  convergeTcbStatus,
  checkQeIdentity,
} from './verify/tdx_tcb.js';
export type { TdxTcbInput, TdxTcbEvaluation } from './verify/tdx_tcb.js';
export { INTEL_SGX_ROOT_CA_PEM } from './verify/tdx_roots.js';
export { parseCertificate, parseCertificates } from './verify/x509/certificate.js';
export type { Certificate, KeyUsageName } from './verify/x509/certificate.js';
export {
  validateChain,
  checkChainTimes,
  anchorFromCertificate,
  anchorFromKey,
  anchorsFromCertificateFiles,
} from './verify/x509/chain.js';
export type {
  TrustAnchor,
  ChainProfile,
  RoleRule,
  ValidateChainInput,
  ValidatedChain,
} from './verify/x509/chain.js';
export { parseCrl, checkCrl, isRevoked } from './verify/x509/crl.js';
export type { Crl, CrlIssuer } from './verify/x509/crl.js';
export {
  INTEL_PCK_PROFILE,
  INTEL_TCB_SIGNING_PROFILE,
  CCA_PLATFORM_PROFILE,
  TPM_AK_PROFILE,
  TPM_EK_PROFILE,
  amdProfile,
} from './verify/x509/profiles.js';
export { EMULATED_ROOT_ORGANIZATION } from '../formats/x509/emulated_root.js';
export {
  verifySnpReport,
  verifyParsedSnpReport,
  showSnpReport,
  snpSignatureValid,
  SNP_VERIFIER,
  SNP_CHECKS,
} from './verify/snp.js';
export type { SnpVerifyOptions } from './verify/snp.js';
export { SnpChainCache, loadCertificates } from './verify/snp.js';
export type { SnpVerifiedChain, ChainLink } from './verify/snp.js';
export { AMD_ROOTS } from './verify/snp_roots.js';
export type { AmdProductCerts } from './verify/snp_roots.js';
export {
  checkHclBinding,
  hclAkPublicKey,
  checkHclAkMatches,
  checkHclNonce,
  checkHclTdReport,
} from './verify/binding_hcl.js';
export { verifyHclTdx, showHclTdx, looksLikeHclTdx, TD_QUOTE_PART } from './verify/hcl_tdx.js';
export { cvmAkBinding, HCL_REPORT_PART } from './verify/cvm_ak_binding.js';
export type { CvmAkBinding, CvmReportKind } from './verify/cvm_ak_binding.js';
export { checkSvsmBinding, svsmReportData, svsmVtpmEkPublic } from './verify/binding_svsm.js';
export {
  verifyCcaToken,
  loadCcaTrustAnchors,
  realmPublicKey,
  coseSignatureValid,
  CCA_VERIFIER,
} from './verify/cca.js';
export type { CcaVerifyOptions, CcaTrustAnchor } from './verify/cca.js';
export {
  verifyTpmQuote,
  parsePcrValues,
  akFromBytes,
  loadAkPublicKey,
  pssSaltLength,
  selectedPcrValues,
  TPM_QUOTE_VERIFIER,
} from './verify/tpm_quote.js';
export type {
  TpmQuoteInput,
  TpmQuoteResult,
  TpmQuoteClaims,
  TpmQuoteIssue,
  PcrValues,
  AkInput,
} from './verify/tpm_quote.js';
export { decideAkTrust, checkAkAttributes } from './verify/tpm_ak_trust.js';
export type {
  AkTrust,
  AkTrustReason,
  AkTrustInput,
  AkTrustDecision,
} from './verify/tpm_ak_trust.js';
export { verifyGoTpmAttestation, TPM_EVIDENCE_VERIFIER } from './verify/tpm_attestation.js';
export { BUNDLE_VERIFIER } from './verify/bundle.js';
export { replayBundle, replayFirmwareLog } from './replay/bundle_replay.js';
export { ImaEntryList, imaEntryListOf, replayImaLayer } from './replay/ima_layer.js';
export type { ImaEventView, ImaLayerResult } from './replay/ima_layer.js';
export type {
  FirmwareReplay,
  CheckpointSeen,
  ReportedValues,
  BundleReplayOptions,
  BundleReplayResult,
  LayerIssue,
  TenantEventView,
  TrustedTenantCheckpoint,
} from './replay/bundle_replay.js';
export { parseTrustedTenantCheckpoints } from '../formats/bundle/checkpoint_spec.js';
export {
  parseTdxCollateralFiles,
  parseQuoteCollateralV3,
  parseTdxTcbInfo,
  parseQeIdentity,
} from './collateral/tdx_collateral.js';
export type {
  TdxCollateral,
  TdxTcbInfo,
  TdxTcbLevel,
  QeIdentity,
  IsvTcbLevel,
  TdxModuleIdentity,
  SignedJson,
} from './collateral/tdx_collateral.js';
export {
  CollateralCache,
  defaultCollateralCacheDir,
  COLLATERAL_META_FORMAT,
} from './collateral/cache.js';
export type { CacheEntryMeta, CachedItem, NewCachedItem } from './collateral/cache.js';
export { importTdxCollateral } from './collateral/import.js';
export type { CollateralImportOptions, CollateralImportResult } from './collateral/import.js';
export { PoliteFetcher, retryAfterMs } from './collateral/cache_http.js';
export type { PoliteFetcherOptions, HttpResponse } from './collateral/cache_http.js';
export { fetchTdxCollateral, INTEL_PCS_URL } from './collateral/pcs.js';
export type { TdxFetchOptions, FetchResult } from './collateral/pcs.js';
export { fetchSnpCollateral, kdsVcekUrl, AMD_KDS_URL } from './collateral/kds.js';
export type { SnpFetchOptions } from './collateral/kds.js';

// verifier/appraise: findings, finding ids, appraisal inputs (DESIGN §6.3)
export {
  FINDING_IDS,
  FINDING_STATUSES,
  appraisalStatus,
  findingIdInfo,
  replayFindingId,
} from './appraise/finding.js';
export type {
  Finding,
  FindingId,
  FindingIdInfo,
  FindingIdKey,
  FindingLayer,
  FindingStatus,
  FindingSubject,
  FindingWhere,
} from './appraise/finding.js';
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
} from './appraise/appraisal_input.js';

export { appraise } from './appraise/appraise.js';
export {
  DEFAULT_POLICY,
  RefSet,
  canonicalJson,
  compilePolicy,
  defaultPolicy,
  parsePolicy,
  policyId,
  validatePolicy,
} from './appraise/policy.js';
export type {
  CompiledPolicy,
  CompiledIma,
  LoadedPolicy,
  PolicyV1,
  RefValue,
  TenantRule,
  TenantMatcher,
  DigestLookup,
} from './appraise/policy.js';
export {
  POLICY_CACHE_MIN_BYTES,
  defaultPolicyCacheDir,
  loadPolicyFile,
  primePolicyCache,
  writePolicyCache,
} from './appraise/policy_cache.js';
export type { LoadPolicyFileOptions } from './appraise/policy_cache.js';
export { POLICY_SCHEMA } from './appraise/policy_schema.js';
export {
  MAX_REGEX_LENGTH,
  compileExcludes,
  translatePythonRegex,
} from './appraise/python_regex.js';
export type { TranslatedRegex } from './appraise/python_regex.js';
export { appraiseEvidence, appraiseLogs } from './appraise/appraise_evidence.js';
export type { AppraiseEvidenceOptions, EvidenceAppraisal } from './appraise/appraise_evidence.js';
export { bundleReplayOf, claimHex, provenClaimsOf } from './appraise/proven_claims.js';
export type { ProvenClaimsOptions } from './appraise/proven_claims.js';
export { replayEvidenceLogs, reportedValue } from './appraise/replayed_logs.js';
export type { EvidenceLogsOptions } from './appraise/replayed_logs.js';
export { imaKeysOf, imaRecordOf, judgeImaList } from './appraise/ima_rules.js';
export type { ImaJudgement } from './appraise/ima_rules.js';
export { checkImaSignature, imaKeyidOfKey, imaSigningKeysOf } from './verify/ima_signature.js';
export type { ImaSignatureCheck, ImaSigningKey } from './verify/ima_signature.js';
export { generatePolicy } from './appraise/policy_generate.js';
export { dssePae, importKeylimePolicy } from './appraise/import_keylime.js';
export { CORIM_PROFILES, importCorim } from './appraise/import_corim.js';
export type { CorimImport, CorimImportOptions } from './appraise/import_corim.js';
export {
  MAX_VARIANT_VALUES,
  importPcrlock,
  parsePcrlock,
  predictPcrlock,
} from './appraise/import_pcrlock.js';
export type { PcrlockComponent, PcrlockFile, PcrlockRecord } from './appraise/import_pcrlock.js';
export { RVPS_FIELDS, importRvps } from './appraise/import_rvps.js';
export type { RvpsImport } from './appraise/import_rvps.js';

// verifier/result: EAR (AR4SI trust vectors, the veraison 2023 profile), keys, tokens (DESIGN §6.4)
export {
  AR4SI_CLAIMS,
  AR4SI_VALUES,
  TIER_CODES,
  TRUST_TIERS,
  isClaimValue,
  statusCoversVector,
  statusFromVector,
  tierOf,
  worseTier,
} from './result/ar4si.js';
export type { Ar4siClaim, TrustTier, TrustVector } from './result/ar4si.js';
export {
  EAR_PROFILES,
  EAR_PROFILE_DRAFT_03,
  EAR_PROFILE_RETIRED_2022,
  EAR_PROFILE_TRUSTEE_2024,
  EAR_PROFILE_VERAISON_2023,
  decodeEarClaims,
  earClaimsJson,
} from './result/ear_claims.js';
export type {
  Ear,
  EarAppraisal,
  EarAppraisalOut,
  EarOut,
  EarProfileFamily,
  EarVerifierId,
} from './result/ear_claims.js';
export {
  EAR_SIGN_ALGS,
  EAR_VERIFY_ALGS,
  generateEarKey,
  jwksOf,
  loadSigningKey,
  loadVerificationKeys,
  publicKeyInfo,
  signAlgFor,
} from './result/ear_keys.js';
export type { EarJwk, EarPublicKey, EarSignAlg, EarSigningKey } from './result/ear_keys.js';
export {
  checkJwsAlg,
  decodeEarToken,
  keyFromX5c,
  signEar,
  splitCompactJws,
  verifyEar,
} from './result/ear_token.js';
export type {
  CompactJws,
  EarHeader,
  EarKeySource,
  VerifiedEar,
  VerifyEarOptions,
} from './result/ear_token.js';
export {
  ID_MAPPINGS,
  RELAXATION_CLAIMS,
  SUBJECT_MAPPINGS,
  blockedClaims,
  claimMappingOf,
  claimsOfUnproven,
  trustVectorOf,
} from './result/claim_mapping.js';
export type { ClaimMapping, ClaimSupport } from './result/claim_mapping.js';
export {
  DEFAULT_EAR_LIFETIME_SECONDS,
  MRSTACK_VERIFIER_ID,
  earFromAppraisals,
  issueEar,
} from './result/ear_issue.js';
export type { EarIssueOptions, EarSubmodInput, IssuedEar } from './result/ear_issue.js';
export { escapeHtml, firstDivergentFinding, renderResultHtml } from './result/result_html.js';
export type { ChainEntry, ResultPageInput } from './result/result_html.js';

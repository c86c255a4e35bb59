import type { Clock } from '../../shared/clock.js';
import type { ErrorDetail } from '../../shared/errors.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import { consentsErrors } from './consents.errors.js';
import type { ConsentsRepository } from './consents.repository.js';
import type { AcceptConsentsBody, ConsentStatus } from './consents.schemas.js';
import type { ConsentDocument } from './consents.table.js';

const DOCUMENTS: ConsentDocument[] = ['terms', 'privacy'];

/** Versioned terms and privacy policy (TERMS_VERSION, PRIVACY_VERSION; empty: not in use). */
export function createConsentsService(deps: {
  consentsRepository: ConsentsRepository;
  auditService: AuditService;
  clock: Clock;
  settings: { termsVersion: string; privacyVersion: string };
}) {
  const { consentsRepository, auditService, clock } = deps;
  const current: Record<ConsentDocument, string> = {
    terms: deps.settings.termsVersion,
    privacy: deps.settings.privacyVersion,
  };

  async function status(userId: number): Promise<ConsentStatus> {
    const latest = await Promise.all(DOCUMENTS.map((doc) => consentsRepository.latest(userId, doc)));
    const out = { requires_acceptance: false, changed_documents: [] } as unknown as ConsentStatus;
    DOCUMENTS.forEach((doc, i) => {
      const row = latest[i];
      const version = current[doc] || null;
      out[doc] = {
        current_version: version,
        accepted_version: row?.documentVersion ?? null,
        accepted_at: row?.acceptedAt.toISOString() ?? null,
      };
      if (version !== null && row?.documentVersion !== version) {
        out.requires_acceptance = true;
        if (row) out.changed_documents.push(doc);
      }
    });
    return out;
  }

  return {
    status,

    /** Both versions must be the current ones; one row per document in use, with when and from where. */
    async accept(userId: number, body: AcceptConsentsBody, meta: RequestMeta): Promise<ConsentStatus> {
      const submitted: Record<ConsentDocument, string> = { terms: body.terms_version, privacy: body.privacy_version };
      const mismatches: ErrorDetail[] = DOCUMENTS.filter((doc) => submitted[doc] !== current[doc]).map((doc) => ({
        loc: ['body', `${doc}_version`],
        msg: current[doc] ? `The current version is ${current[doc]}` : 'This document is not in use: send ""',
        type: 'value_error',
      }));
      if (mismatches.length > 0) throw consentsErrors.versionMismatch(mismatches);
      const now = clock.now();
      const rows = DOCUMENTS.filter((doc) => current[doc]).map((doc) => ({
        userId,
        documentType: doc,
        documentVersion: current[doc],
        acceptedAt: now,
        ipAddress: meta.ip?.slice(0, 45) ?? null,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
      }));
      await consentsRepository.append(rows);
      if (rows.length > 0) {
        await auditService.record(
          {
            event: 'user.consents.accepted',
            actorUserId: userId,
            subjectUserId: userId,
            details: Object.fromEntries(rows.map((r) => [r.documentType, r.documentVersion])),
          },
          meta,
        );
      }
      return status(userId);
    },
  };
}

export type ConsentsService = ReturnType<typeof createConsentsService>;

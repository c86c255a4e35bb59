import { type Static, Type } from 'typebox';
import { StringEnum } from '../../shared/schemas.js';

const DocumentStatus = Type.Object(
  {
    current_version: Type.Unsafe<string | null>({
      type: ['string', 'null'],
      maxLength: 32,
      description: 'The version in force (null: this document is not in use).',
      examples: ['2026-05-13'],
    }),
    accepted_version: Type.Unsafe<string | null>({
      type: ['string', 'null'],
      maxLength: 32,
      description: 'The version the user accepted last (null: never).',
    }),
    accepted_at: Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', maxLength: 32 }),
  },
  { title: 'ConsentDocumentStatus' },
);

export const ConsentStatus = Type.Object(
  {
    terms: DocumentStatus,
    privacy: DocumentStatus,
    requires_acceptance: Type.Boolean({ description: 'Whether a current version is not accepted yet.' }),
    changed_documents: Type.Array(StringEnum(['terms', 'privacy']), {
      maxItems: 2,
      description:
        'Documents accepted before in an older version (empty on a first acceptance), so the client can say what changed.',
    }),
  },
  { title: 'ConsentStatus' },
);
export type ConsentStatus = Static<typeof ConsentStatus>;

export const AcceptConsentsBody = Type.Object(
  {
    terms_version: Type.String({ maxLength: 32, description: 'Must be the current terms version.' }),
    privacy_version: Type.String({ maxLength: 32, description: 'Must be the current privacy version.' }),
  },
  { title: 'AcceptConsentsRequest', additionalProperties: false },
);
export type AcceptConsentsBody = Static<typeof AcceptConsentsBody>;

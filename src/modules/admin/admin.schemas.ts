import { type Static, Type } from 'typebox';
import { OffsetPaginationFields } from '../../shared/schemas.js';
import { FeatureMap } from '../users/users.schemas.js';

export const PendingUsersQuery = Type.Object({
  ...OffsetPaginationFields,
});
export type PendingUsersQuery = Static<typeof PendingUsersQuery>;

export const RejectBody = Type.Object(
  {
    reason: Type.Optional(
      Type.String({ maxLength: 1000, description: 'Sent to the applicant in the rejection email.' }),
    ),
  },
  { title: 'RejectUserRequest', additionalProperties: false },
);
export type RejectBody = Static<typeof RejectBody>;

export const FeaturesUpdateBody = Type.Object(
  {
    features: Type.Record(Type.String({ maxLength: 100 }), Type.Boolean(), {
      maxProperties: 100,
      description: 'The flags to change; the others stay as they are. Keys must be in USER_FEATURES.',
      examples: [{ can_export_data: false }],
    }),
  },
  { title: 'FeaturesUpdateRequest', additionalProperties: false },
);
export type FeaturesUpdateBody = Static<typeof FeaturesUpdateBody>;

export { FeatureMap };

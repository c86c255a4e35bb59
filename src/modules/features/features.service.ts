import type { Clock } from '../../shared/clock.js';
import type { AuditService, RequestMeta } from '../audit/audit.service.js';
import type { UserRow } from '../users/users.table.js';
import { featuresErrors } from './features.errors.js';
import type { FeaturesRepository } from './features.repository.js';

/** Admins and superusers are never held back by a flag: they run the portal. */
export const bypassesFeatureFlags = (user: Pick<UserRow, 'role' | 'isSuperuser'>) =>
  user.isSuperuser || user.role === 'admin';

/**
 * Feature flags: the allowed keys and their defaults come from USER_FEATURES; a user's stored flags
 * override the defaults. Keys no longer allowed are ignored, never reported.
 */
export function createFeaturesService(deps: {
  featuresRepository: FeaturesRepository;
  auditService: AuditService;
  clock: Clock;
  settings: { userFeatures: Record<string, boolean> };
}) {
  const { featuresRepository, auditService, clock } = deps;
  const defaults = deps.settings.userFeatures;
  const allowed = Object.keys(defaults);

  /** Every allowed key, from the stored flags or else its default. */
  function resolve(stored: Record<string, boolean> | null | undefined): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const key of allowed) out[key] = stored?.[key] ?? (defaults[key] as boolean);
    return out;
  }

  return {
    allowedKeys: () => [...allowed],
    isAllowed: (key: string) => Object.hasOwn(defaults, key),
    resolve,

    /** What a user may do: every feature for admins and superusers, else their flags. */
    effective(user: Pick<UserRow, 'role' | 'isSuperuser'>, stored: Record<string, boolean> | null | undefined) {
      if (!bypassesFeatureFlags(user)) return resolve(stored);
      return Object.fromEntries(allowed.map((key) => [key, true]));
    },

    async forUser(userId: number): Promise<Record<string, boolean>> {
      return resolve(await featuresRepository.flagsOf(userId));
    },

    /** Stores the defaults as the user's flags where they have none (on approval or creation). */
    grantDefaults: (userId: number) => featuresRepository.addMissing(userId, defaults, clock.now()),

    /** Partial update; an unknown key refuses the whole update (422). Returns the full map. */
    async update(
      actor: Pick<UserRow, 'id'>,
      userId: number,
      changes: Record<string, boolean>,
      meta: RequestMeta | undefined,
    ): Promise<Record<string, boolean>> {
      const unknown = Object.keys(changes).filter((key) => !Object.hasOwn(defaults, key));
      if (unknown.length > 0) throw featuresErrors.unknownKeys(unknown, allowed);
      await featuresRepository.upsert(userId, changes, clock.now());
      if (Object.keys(changes).length > 0) {
        await auditService.record(
          {
            event: 'user.features.updated',
            actorUserId: actor.id,
            subjectUserId: userId,
            details: { features: changes },
          },
          meta,
        );
      }
      return resolve(await featuresRepository.flagsOf(userId));
    },
  };
}

export type FeaturesService = ReturnType<typeof createFeaturesService>;

import type { TransactionScope } from '../../services.js';
import type { Clock } from '../../shared/clock.js';
import type { RequestMeta } from '../audit/audit.service.js';
import type { FeaturesService } from '../features/features.service.js';
import { approvalEmail, rejectionEmail } from '../mail/mail.templates.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { UserRow } from '../users/users.table.js';
import { adminErrors } from './admin.errors.js';
import { createAdminRepository } from './admin.repository.js';

type Actor = Pick<UserRow, 'id' | 'isSuperuser' | 'role'>;

/** Admins manage clients; admins and superusers are managed by superusers only. */
function assertMayManage(actor: Actor, target: UserRow): void {
  if (actor.isSuperuser) return;
  if (target.isSuperuser || target.role === 'admin') throw adminErrors.targetOutranks();
}

/**
 * The admin portal's account administration. Every action runs in one transaction with its audit event and
 * its email (queued in the outbox), so it either happens completely or not at all, and its answer never
 * depends on the SMTP server; conflicts (409) are decided before anything is written or sent.
 */
export function createAdminService(deps: {
  usersRepository: UsersRepository;
  features: FeaturesService;
  transaction: <T>(work: (scope: TransactionScope) => Promise<T>) => Promise<T>;
  listPending: ReturnType<typeof createAdminRepository>['listPending'];
  clock: Clock;
  settings: { projectName: string; clientPortalUrl: string };
}) {
  const { usersRepository, features, transaction, clock, settings } = deps;
  const name = (user: UserRow) => user.firstName ?? user.username;

  async function target(actor: Actor, id: number): Promise<UserRow> {
    const user = await usersRepository.getByIdOrThrow(id);
    assertMayManage(actor, user);
    return user;
  }

  return {
    listPending: deps.listPending,

    async approve(actor: Actor, id: number, meta: RequestMeta): Promise<UserRow> {
      const user = await target(actor, id);
      if (user.isApproved) throw adminErrors.alreadyApproved();
      return transaction(async (tx) => {
        const approved = await createAdminRepository(tx.db).approve(id, actor.id, clock.now());
        if (!approved) throw adminErrors.alreadyApproved();
        // Flags an admin set before approving are kept; only the missing ones get their default.
        await tx.features.grantDefaults(id);
        await tx.audit.record({ event: 'user.approved', actorUserId: actor.id, subjectUserId: id }, meta);
        await tx.mail.send(
          approvalEmail({
            to: approved.email,
            name: name(approved),
            projectName: settings.projectName,
            link: `${settings.clientPortalUrl}/login`,
          }),
        );
        return approved;
      });
    },

    /** Only an application still waiting: the email with the reason, then the account is deleted. */
    async reject(actor: Actor, id: number, reason: string | undefined, meta: RequestMeta): Promise<void> {
      const user = await target(actor, id);
      if (user.isApproved) throw adminErrors.notPending();
      await transaction(async (tx) => {
        await tx.mail.send(
          rejectionEmail({ to: user.email, name: name(user), projectName: settings.projectName, reason }),
        );
        if (!(await createAdminRepository(tx.db).deletePending(id))) throw adminErrors.notPending();
        await tx.audit.record(
          {
            event: 'user.rejected',
            actorUserId: actor.id,
            subjectUserId: id,
            details: { email: user.email, ...(reason ? { reason } : {}) },
          },
          meta,
        );
      });
    },

    /** Ends every session at once: the user's next request is refused. */
    async deactivate(actor: Actor, id: number, meta: RequestMeta): Promise<UserRow> {
      if (actor.id === id) throw adminErrors.cannotDeactivateSelf();
      await target(actor, id);
      return transaction(async (tx) => {
        const row = await createAdminRepository(tx.db).setActive(id, false);
        if (!row) throw adminErrors.alreadyInactive();
        const revoked = await tx.sessions.revokeAll(id, 'user_deactivated');
        await tx.audit.record(
          { event: 'user.deactivated', actorUserId: actor.id, subjectUserId: id, details: { revoked } },
          meta,
        );
        return row;
      });
    },

    async reactivate(actor: Actor, id: number, meta: RequestMeta): Promise<UserRow> {
      await target(actor, id);
      return transaction(async (tx) => {
        const row = await createAdminRepository(tx.db).setActive(id, true);
        if (!row) throw adminErrors.alreadyActive();
        await tx.audit.record({ event: 'user.reactivated', actorUserId: actor.id, subjectUserId: id }, meta);
        return row;
      });
    },

    async getFeatures(actor: Actor, id: number): Promise<Record<string, boolean>> {
      await target(actor, id);
      return features.forUser(id);
    },

    async updateFeatures(
      actor: Actor,
      id: number,
      changes: Record<string, boolean>,
      meta: RequestMeta,
    ): Promise<Record<string, boolean>> {
      await target(actor, id);
      return features.update(actor, id, changes, meta);
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;

import type { TransactionScope } from '../../services.js';
import type { Clock } from '../../shared/clock.js';
import { AppError } from '../../shared/errors.js';
import { generateOpaqueToken, hashOpaqueToken } from '../../shared/tokens.js';
import type { RequestMeta } from '../audit/audit.service.js';
import { deriveUsername } from '../users/users.service.js';
import type { UserRole, UserRow } from '../users/users.table.js';
import { invitationEmail } from './invitations.email.js';
import {
  EXPIRED_TOKEN_MESSAGE,
  INVALID_TOKEN_MESSAGE,
  invitationsErrors,
  USED_TOKEN_MESSAGE,
} from './invitations.errors.js';
import {
  createInvitationsRepository,
  type InvitationStatus,
  type InvitationsRepository,
  type InvitationWithInviter,
  statusOf,
} from './invitations.repository.js';
import { displayName, type InvitationAcceptBody, type InvitationValidation } from './invitations.schemas.js';
import type { InvitationRow } from './invitations.table.js';

type Actor = Pick<UserRow, 'id' | 'isSuperuser' | 'role' | 'firstName' | 'lastName' | 'username'>;

const DAY_MS = 86_400_000;

/** Only a superuser hands out (or manages) links that create admins. */
function assertMayInvite(actor: Actor, role: UserRole): void {
  if (role === 'admin' && !actor.isSuperuser) throw invitationsErrors.adminRoleForbidden();
}

/**
 * Invitations: an admin sends a link, the invitee creates an account with it (verified, approved, with the
 * invited role). Only the SHA-256 of a token is stored, so the token exists in the email alone; each write
 * runs in one transaction with its audit event and its email (queued in the outbox).
 */
export function createInvitationsService(deps: {
  invitationsRepository: InvitationsRepository;
  transaction: <T>(work: (scope: TransactionScope) => Promise<T>) => Promise<T>;
  clock: Clock;
  settings: { projectName: string; clientPortalUrl: string; invitationExpireDays: number };
}) {
  const { invitationsRepository, transaction, clock, settings } = deps;
  const expiry = (now: Date) => new Date(now.getTime() + settings.invitationExpireDays * DAY_MS);

  const email = (to: string, inviterName: string, token: string) =>
    invitationEmail({
      to,
      inviterName,
      projectName: settings.projectName,
      link: `${settings.clientPortalUrl}/invitation/${token}`,
      days: settings.invitationExpireDays,
    });

  async function getOrThrow(id: number): Promise<InvitationWithInviter> {
    const found = await invitationsRepository.findById(id);
    if (!found) throw invitationsErrors.notFound();
    return found;
  }

  async function create(
    actor: Actor,
    input: { email: string; role?: UserRole | undefined },
    meta: RequestMeta,
  ): Promise<InvitationWithInviter> {
    const role = input.role ?? 'client';
    assertMayInvite(actor, role);
    return transaction(async (tx) => {
      const repository = createInvitationsRepository(tx.db);
      const now = clock.now();
      await repository.lockEmail(input.email);
      if (await tx.usersRepository.findByLogin(input.email)) throw invitationsErrors.userExists();
      // An expired or revoked invitation of the address is history, not an obstacle.
      if (await repository.findPendingByEmail(input.email, now)) throw invitationsErrors.alreadyPending();
      const token = generateOpaqueToken();
      const invitation = await repository.insert({
        email: input.email,
        tokenHash: hashOpaqueToken(token),
        role,
        invitedById: actor.id,
        expiresAt: expiry(now),
        createdAt: now,
      });
      await tx.audit.record(
        {
          event: 'invitation.created',
          actorUserId: actor.id,
          details: { invitation_id: invitation.id, email: invitation.email, role },
        },
        meta,
      );
      await tx.mail.send(email(invitation.email, displayName(actor), token));
      return { invitation, inviter: actor };
    });
  }

  /** Why a link does not work, or undefined when it does. Revoked links answer as unknown ones. */
  function problem(row: InvitationRow | undefined, now: Date): 'invalid' | 'used' | 'expired' | undefined {
    if (!row) return 'invalid';
    const status: InvitationStatus = statusOf(row, now);
    if (status === 'pending') return undefined;
    return status === 'revoked' ? 'invalid' : status;
  }

  return {
    async list(query: { skip: number; limit: number; status?: InvitationStatus | undefined }) {
      const now = clock.now();
      return { ...(await invitationsRepository.list(query, now)), now };
    },

    create,

    /** Each address on its own: one failing (taken, pending, twice in the list) never stops the others. */
    async createBulk(actor: Actor, emails: string[], meta: RequestMeta) {
      const successful: string[] = [];
      const failed: { email: string; reason: string; code: string }[] = [];
      const seen = new Set<string>();
      for (const address of emails) {
        if (seen.has(address)) {
          failed.push({
            email: address,
            reason: 'Duplicate email in the request',
            code: 'invitations.duplicate_email',
          });
          continue;
        }
        seen.add(address);
        try {
          await create(actor, { email: address }, meta);
          successful.push(address);
        } catch (error) {
          if (!(error instanceof AppError) || error.statusCode !== 409) throw error;
          failed.push({ email: address, reason: error.message, code: error.code });
        }
      }
      return { successful, failed, total_sent: successful.length, total_failed: failed.length };
    },

    /**
     * A new token (the old link stops working) and a new expiry. The invitation stays the original inviter's;
     * the resender is the actor of the audit event.
     */
    async resend(actor: Actor, id: number, meta: RequestMeta): Promise<InvitationWithInviter & { now: Date }> {
      const { invitation: current, inviter } = await getOrThrow(id);
      assertMayInvite(actor, current.role);
      if (current.usedAt) throw invitationsErrors.alreadyUsed('resend');
      if (current.revokedAt) throw invitationsErrors.alreadyRevoked('resend');
      return transaction(async (tx) => {
        const repository = createInvitationsRepository(tx.db);
        const now = clock.now();
        await repository.lockEmail(current.email);
        if (await tx.usersRepository.findByLogin(current.email)) throw invitationsErrors.userExists();
        // The address was invited again after this one expired: the newer link is the one that counts.
        if (await repository.findPendingByEmail(current.email, now, id)) throw invitationsErrors.alreadyPending();
        const token = generateOpaqueToken();
        const invitation = await repository.renew(id, hashOpaqueToken(token), expiry(now));
        if (!invitation) {
          const again = await repository.findById(id);
          if (again?.invitation.usedAt) throw invitationsErrors.alreadyUsed('resend');
          if (again) throw invitationsErrors.alreadyRevoked('resend');
          throw invitationsErrors.notFound();
        }
        await tx.audit.record(
          {
            event: 'invitation.resent',
            actorUserId: actor.id,
            details: { invitation_id: id, email: invitation.email, invited_by_id: invitation.invitedById },
          },
          meta,
        );
        await tx.mail.send(email(invitation.email, displayName(inviter ?? actor), token));
        return { invitation, inviter, now };
      });
    },

    /** The link stops working; the record stays, with `revoked_at`. */
    async revoke(actor: Actor, id: number, meta: RequestMeta): Promise<void> {
      const { invitation: current } = await getOrThrow(id);
      assertMayInvite(actor, current.role);
      if (current.usedAt) throw invitationsErrors.alreadyUsed('revoke');
      if (current.revokedAt) throw invitationsErrors.alreadyRevoked('revoke');
      await transaction(async (tx) => {
        const revoked = await createInvitationsRepository(tx.db).revoke(id, clock.now());
        if (!revoked) throw invitationsErrors.alreadyRevoked('revoke');
        await tx.audit.record(
          { event: 'invitation.revoked', actorUserId: actor.id, details: { invitation_id: id, email: revoked.email } },
          meta,
        );
      });
    },

    /** GET /auth/invitation/{token}: always an answer, never an error (the FastAPI service's messages). */
    async validate(token: string): Promise<InvitationValidation> {
      const row = token ? await invitationsRepository.findByTokenHash(hashOpaqueToken(token)) : undefined;
      switch (problem(row, clock.now())) {
        case undefined:
          return { valid: true, email: row?.email ?? null, message: null };
        case 'used':
          return { valid: false, email: null, message: USED_TOKEN_MESSAGE };
        case 'expired':
          return { valid: false, email: null, message: EXPIRED_TOKEN_MESSAGE };
        default:
          return { valid: false, email: null, message: INVALID_TOKEN_MESSAGE };
      }
    },

    /**
     * Spends the link and creates the account in one transaction: two accepts at once create one account,
     * and an account that cannot be created (its address taken meanwhile) leaves the link working.
     */
    async accept(
      token: string,
      input: InvitationAcceptBody,
      meta: RequestMeta,
    ): Promise<{ user: UserRow; features: Record<string, boolean> }> {
      const tokenHash = hashOpaqueToken(token);
      for (let attempt = 1; ; attempt++) {
        try {
          return await transaction(async (tx) => {
            const repository = createInvitationsRepository(tx.db);
            const now = clock.now();
            const invitation = await repository.spend(tokenHash, now);
            if (!invitation) {
              const reason = problem(await repository.findByTokenHash(tokenHash), now);
              if (reason === 'used') throw invitationsErrors.tokenUsed();
              if (reason === 'expired') throw invitationsErrors.tokenExpired();
              throw invitationsErrors.invalidToken();
            }
            const username = input.username ?? (await deriveUsername(invitation.email, tx.usersRepository));
            const user = await tx.users.create(
              {
                email: invitation.email,
                username,
                password: input.password,
                first_name: input.first_name,
                last_name: input.last_name,
                company_name: input.company_name,
                phone: input.phone ?? null,
                is_superuser: false,
              },
              meta,
              { emailVerified: true, role: invitation.role, approved: true, approvedById: invitation.invitedById },
            );
            await tx.audit.record(
              {
                event: 'invitation.accepted',
                actorUserId: user.id,
                subjectUserId: user.id,
                details: { invitation_id: invitation.id, invited_by_id: invitation.invitedById },
              },
              meta,
            );
            return { user, features: tx.features.effective(user, await tx.features.forUser(user.id)) };
          });
        } catch (error) {
          // A username made from the address was taken by a sign-up at the same moment: pick again.
          const derived = input.username === undefined;
          if (!(derived && error instanceof AppError && error.code === 'users.username_taken') || attempt >= 5) {
            throw error;
          }
        }
      }
    },
  };
}

export type InvitationsService = ReturnType<typeof createInvitationsService>;

import { eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { emailOutbox } from './mail.table.js';
import type { MailMessage } from './mail.transport.js';

export interface ClaimedEmail {
  id: number;
  to: string;
  subject: string;
  text: string;
  html: string;
  attempts: number;
}

export function createMailRepository(db: Database) {
  return {
    async enqueue(message: MailMessage, now: Date): Promise<number> {
      const [row] = await db
        .insert(emailOutbox)
        .values({
          toAddress: message.to,
          subject: message.subject.slice(0, 255),
          textBody: message.text,
          htmlBody: message.html,
          nextAttemptAt: now,
          createdAt: now,
        })
        .returning({ id: emailOutbox.id });
      return row?.id ?? 0;
    },

    /**
     * Takes up to `limit` due messages and pushes their next attempt `leaseMs` ahead, so another process
     * polling the same table skips them (SKIP LOCKED) while this one sends.
     */
    async claimDue(now: Date, limit: number, leaseMs: number): Promise<ClaimedEmail[]> {
      const result = await db.execute(sql`
        UPDATE ${emailOutbox} SET next_attempt_at = ${new Date(now.getTime() + leaseMs)}
        WHERE id IN (
          SELECT id FROM ${emailOutbox}
          WHERE status = 'pending' AND next_attempt_at <= ${now}
          ORDER BY next_attempt_at LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        )
        RETURNING id, to_address, subject, text_body, html_body, attempts`);
      const rows = (result as unknown as { rows: Record<string, unknown>[] }).rows;
      return rows.map((r) => ({
        id: Number(r.id),
        to: String(r.to_address),
        subject: String(r.subject),
        text: String(r.text_body ?? ''),
        html: String(r.html_body ?? ''),
        attempts: Number(r.attempts),
      }));
    },

    /** Messages waiting for delivery; answered from the partial index of pending rows, not a table scan. */
    async countPending(): Promise<number> {
      const result = await db.execute(sql`SELECT count(*) AS n FROM ${emailOutbox} WHERE status = 'pending'`);
      const row = (result as unknown as { rows: Record<string, unknown>[] }).rows[0];
      return Number(row?.n ?? 0);
    },

    /** Sent: the bodies (which may hold single-use links) are not kept. */
    async markSent(id: number, now: Date): Promise<void> {
      await db
        .update(emailOutbox)
        .set({
          status: 'sent',
          sentAt: now,
          attempts: sql`${emailOutbox.attempts} + 1`,
          textBody: null,
          htmlBody: null,
        })
        .where(eq(emailOutbox.id, id));
    },

    async markAttemptFailed(id: number, error: string, nextAttemptAt: Date | null): Promise<void> {
      await db
        .update(emailOutbox)
        .set({
          attempts: sql`${emailOutbox.attempts} + 1`,
          lastError: error.slice(0, 1000),
          ...(nextAttemptAt ? { nextAttemptAt } : { status: 'failed' as const, textBody: null, htmlBody: null }),
        })
        .where(eq(emailOutbox.id, id));
    },
  };
}

export type MailRepository = ReturnType<typeof createMailRepository>;

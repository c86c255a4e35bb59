import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../shared/clock.js';
import type { ClaimedEmail, MailRepository } from './mail.repository.js';
import type { MailMessage, MailTransport } from './mail.transport.js';

export interface OutboxOptions {
  /** Attempts before a message is given up (status `failed`, logged at error level). */
  maxAttempts: number;
  /** First retry delay; doubles each attempt, capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  pollIntervalMs: number;
  batchSize: number;
}

/** How one delivery attempt ended: sent, failed with a retry ahead, or failed for good. */
export type DeliveryResult = 'sent' | 'retry' | 'failed';

export const DEFAULT_OUTBOX: OutboxOptions = {
  maxAttempts: 6,
  baseDelayMs: 2_000,
  maxDelayMs: 300_000,
  pollIntervalMs: 2_000,
  batchSize: 20,
};

/**
 * Email goes through the `email_outbox` table: `send` only writes a row (fast, inside the request), and
 * a worker delivers it, retrying with exponential backoff. A slow or broken SMTP server therefore never
 * delays or fails a request, and messages survive a restart.
 */
export function createMailService(deps: {
  mailRepository: MailRepository;
  transport: MailTransport;
  clock: Clock;
  logger: FastifyBaseLogger;
  options?: Partial<OutboxOptions>;
  /** Told how every delivery attempt ends (metrics); absent when nothing measures. */
  onDelivery?: ((result: DeliveryResult) => void) | undefined;
}) {
  const { mailRepository, transport, clock, logger } = deps;
  const options = { ...DEFAULT_OUTBOX, ...deps.options };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  const backoff = (attempt: number) => Math.min(options.baseDelayMs * 2 ** (attempt - 1), options.maxDelayMs);

  async function deliver(email: ClaimedEmail): Promise<void> {
    const attempt = email.attempts + 1;
    try {
      await transport.send(email);
      await mailRepository.markSent(email.id, clock.now());
      deps.onDelivery?.('sent');
      logger.info({ email_id: email.id, attempt, transport: transport.kind }, 'email sent');
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const final = attempt >= options.maxAttempts;
      const next = final ? null : new Date(clock.now().getTime() + backoff(attempt));
      await mailRepository.markAttemptFailed(email.id, message, next);
      deps.onDelivery?.(final ? 'failed' : 'retry');
      if (final) logger.error({ email_id: email.id, attempt, err: error }, 'email failed, giving up');
      else logger.warn({ email_id: email.id, attempt, retry_at: next, err: error }, 'email failed, will retry');
    }
  }

  async function runOnce(): Promise<number> {
    const due = await mailRepository.claimDue(clock.now(), options.batchSize, 60_000);
    for (const email of due) await deliver(email);
    return due.length;
  }

  /** One delivery pass at a time; a kick during a pass schedules another right after it. */
  function kick(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          while ((await runOnce()) === options.batchSize) {}
        } while (again);
      } catch (error) {
        logger.error({ err: error }, 'email outbox pass failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  return {
    async send(message: MailMessage): Promise<void> {
      await mailRepository.enqueue(message, clock.now());
      if (!stopped) void kick();
    },

    /**
     * A sender that queues through another repository (one bound to a transaction): the message exists
     * only if the transaction commits. The worker picks it up on its next pass.
     */
    through(repository: Pick<MailRepository, 'enqueue'>): MailSender {
      return {
        async send(message: MailMessage): Promise<void> {
          await repository.enqueue(message, clock.now());
        },
      };
    },

    /** Messages waiting to be sent (metrics). */
    outboxDepth: () => mailRepository.countPending(),

    /** Delivers whatever is due now; resolves when the pass is done (tests, shutdown). */
    flush: () => kick(),

    start(): void {
      if (!stopped) return;
      stopped = false;
      timer = setInterval(() => void kick(), options.pollIntervalMs);
      timer.unref();
      void kick();
    },

    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running;
      transport.close();
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;

/** What senders of email need: queue a message. */
export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

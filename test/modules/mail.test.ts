import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailRepository } from '../../src/modules/mail/mail.repository.js';
import { createMailService } from '../../src/modules/mail/mail.service.js';
import { createLogTransport, type MailTransport } from '../../src/modules/mail/mail.transport.js';
import { createLogger } from '../../src/shared/logger.js';
import { LogCapture } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const message = {
  to: 'someone@example.com',
  subject: 'Reset',
  text: 'Go to https://app.example.com/reset-password?token=s3cr3t-token-value now',
  html: '<a href="https://app.example.com/reset-password?token=s3cr3t-token-value">reset</a>',
};

describe('the log transport (no SMTP_HOST)', () => {
  it('writes the message to the log at info level, links included, outside production', async () => {
    const logs = new LogCapture();
    await createLogTransport(createLogger({ level: 'info' }, logs), false).send(message);
    expect(logs.lines).toEqual([
      expect.objectContaining({ level: 'info', mail: expect.objectContaining({ to: 'someone@example.com' }) }),
    ]);
    expect(logs.raw.join('\n')).toContain('token=s3cr3t-token-value');
  });

  it('masks the token in production', async () => {
    const logs = new LogCapture();
    await createLogTransport(createLogger({ level: 'info' }, logs), true).send(message);
    expect(logs.raw.join('\n')).not.toContain('s3cr3t-token-value');
    expect(logs.raw.join('\n')).toContain('token=[redacted]');
  });
});

describe('the email outbox', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('gives up after the last attempt, marks the message failed and logs an error', async () => {
    const logs = new LogCapture();
    let calls = 0;
    const broken: MailTransport = {
      kind: 'smtp',
      send: async () => {
        calls += 1;
        throw new Error('connection refused');
      },
      close: () => {},
    };
    let now = new Date('2026-01-01T00:00:00Z');
    const mail = createMailService({
      mailRepository: createMailRepository(database.handle.db),
      transport: broken,
      clock: { now: () => now },
      logger: createLogger({ level: 'info' }, logs),
      options: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 10_000 },
    });
    await mail.send(message); // not started: only queued
    for (let i = 0; i < 5; i++) {
      await mail.flush();
      now = new Date(now.getTime() + 60_000);
    }
    expect(calls).toBe(3);
    const rows = await database.query('SELECT status, attempts, last_error, text_body FROM email_outbox');
    expect(rows).toEqual([{ status: 'failed', attempts: 3, last_error: 'connection refused', text_body: null }]);
    expect(logs.lines.filter((l) => l.level === 'error' && l.msg === 'email failed, giving up')).toHaveLength(1);
  });

  it('waits out the backoff before trying again', async () => {
    await database.reset();
    let calls = 0;
    const flaky: MailTransport = {
      kind: 'smtp',
      send: async () => {
        calls += 1;
        if (calls === 1) throw new Error('try later');
      },
      close: () => {},
    };
    let now = new Date('2026-01-01T00:00:00Z');
    const mail = createMailService({
      mailRepository: createMailRepository(database.handle.db),
      transport: flaky,
      clock: { now: () => now },
      logger: createLogger({ level: 'silent' }),
      options: { baseDelayMs: 5_000 },
    });
    await mail.send(message);
    await mail.flush();
    await mail.flush();
    expect(calls).toBe(1); // the retry is not due yet
    now = new Date(now.getTime() + 5_000);
    await mail.flush();
    expect(calls).toBe(2);
    expect(await database.query('SELECT status FROM email_outbox')).toEqual([{ status: 'sent' }]);
  });
});

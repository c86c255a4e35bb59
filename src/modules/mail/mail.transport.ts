import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { Config } from '../../config/config.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Delivers one message or throws; retries are the outbox's job. */
export interface MailTransport {
  readonly kind: 'smtp' | 'log';
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createSmtpTransport(smtp: Config['smtp'], from: string): MailTransport {
  const transporter = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls && smtp.port === 465,
    requireTLS: smtp.tls && smtp.port !== 465,
    ignoreTLS: !smtp.tls,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    kind: 'smtp',
    async send(message) {
      await transporter.sendMail({ from, ...message });
    },
    close: () => transporter.close(),
  };
}

/**
 * Links in a message carry single-use tokens: `token=...` values, and the path segment of an invitation
 * link (`/invitation/{token}`, the FastAPI service's link shape), are masked when `redact` is on.
 */
const TOKEN_PARAM = /([?&]token=|\/invitation\/)[^&\s"<?#/]+/g;

/**
 * Without SMTP_HOST, messages go to the log so a developer can follow the links. In production the
 * tokens are masked: log readers must not be able to reset passwords.
 */
export function createLogTransport(logger: FastifyBaseLogger, redact: boolean): MailTransport {
  return {
    kind: 'log',
    async send(message) {
      const text = redact ? message.text.replace(TOKEN_PARAM, '$1[redacted]') : message.text;
      logger.info({ mail: { to: message.to, subject: message.subject, text } }, 'email (no SMTP_HOST configured)');
    },
    close: () => {},
  };
}

export function createMailTransport(config: Config, logger: FastifyBaseLogger): MailTransport {
  if (!config.smtp.host) return createLogTransport(logger, config.environment === 'production');
  const address = config.smtp.fromEmail ?? `no-reply@${config.smtp.host}`;
  return createSmtpTransport(config.smtp, `"${config.smtp.fromName.replace(/["\\]/g, '')}" <${address}>`);
}

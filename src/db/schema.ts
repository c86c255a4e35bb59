// Every table, for Drizzle's typed queries and for drizzle-kit, which generates migrations from this list.
export { auditEvents } from '../modules/audit/audit.table.js';
export { oneTimeTokens } from '../modules/auth/auth.table.js';
export { userConsents } from '../modules/consents/consents.table.js';
export { userFeatures } from '../modules/features/features.table.js';
export { invitations } from '../modules/invitations/invitations.table.js';
export { emailOutbox } from '../modules/mail/mail.table.js';
export { refreshTokens, sessions } from '../modules/sessions/sessions.table.js';
export { users } from '../modules/users/users.table.js';

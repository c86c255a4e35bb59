import type { MailMessage } from './mail.transport.js';

export const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export interface TemplateInput {
  to: string;
  name: string;
  projectName: string;
  link: string;
}

/** Every value is escaped in the HTML part; templates of other modules build on this one. */
export function render(
  input: TemplateInput,
  subject: string,
  intro: string,
  action: string,
  outro: string,
): MailMessage {
  const text = `Hello ${input.name},\n\n${intro}\n\n${action}: ${input.link}\n\n${outro}\n\n${input.projectName}\n`;
  const html = `<!DOCTYPE html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello ${escapeHtml(input.name)},</p>
<p>${escapeHtml(intro)}</p>
<p><a href="${escapeHtml(input.link)}">${escapeHtml(action)}</a></p>
<p style="color: #555">${escapeHtml(outro)}</p>
<p>${escapeHtml(input.projectName)}</p>
</body></html>`;
  return { to: input.to, subject: `${input.projectName}: ${subject}`, text, html };
}

export const passwordResetEmail = (input: TemplateInput & { minutes: number }) =>
  render(
    input,
    'reset your password',
    'Someone (hopefully you) asked to reset the password of your account.',
    'Choose a new password',
    `The link works once and expires in ${input.minutes} minutes. If you did not ask for this, ignore this email: your password stays as it is.`,
  );

export const verificationEmail = (input: TemplateInput & { hours: number }) =>
  render(
    input,
    'confirm your email address',
    'Please confirm that this is your email address.',
    'Confirm my email address',
    `The link works once and expires in ${input.hours} hours. If you did not create an account, ignore this email.`,
  );

export const passwordChangedEmail = (input: TemplateInput) =>
  render(
    input,
    'your password was changed',
    'The password of your account was just changed.',
    'Not you? Reset your password',
    'If you made this change, there is nothing to do.',
  );

export const approvalEmail = (input: TemplateInput) =>
  render(
    input,
    'your account is approved',
    'Your account has been approved: you can sign in now.',
    'Sign in',
    'Welcome aboard.',
  );

/** No link to act on: the account is deleted. The reason, when given, is the admin's own words. */
export function rejectionEmail(
  input: Omit<TemplateInput, 'link'> & { reason?: string | null | undefined },
): MailMessage {
  const intro = 'Your application for an account was not approved, and the account has been removed.';
  const reason = input.reason ? `Reason: ${input.reason}` : '';
  const text = `Hello ${input.name},\n\n${intro}\n${reason ? `\n${reason}\n` : ''}\n${input.projectName}\n`;
  const html = `<!DOCTYPE html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello ${escapeHtml(input.name)},</p>
<p>${escapeHtml(intro)}</p>
${reason ? `<p>${escapeHtml(reason)}</p>\n` : ''}<p>${escapeHtml(input.projectName)}</p>
</body></html>`;
  return { to: input.to, subject: `${input.projectName}: your account application`, text, html };
}

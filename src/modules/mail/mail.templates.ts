import type { MailMessage } from './mail.transport.js';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

interface TemplateInput {
  to: string;
  name: string;
  projectName: string;
  link: string;
}

function render(input: TemplateInput, subject: string, intro: string, action: string, outro: string): MailMessage {
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

import { escapeHtml } from '../mail/mail.templates.js';
import type { MailMessage } from '../mail/mail.transport.js';

export interface InvitationEmailInput {
  to: string;
  inviterName: string;
  projectName: string;
  link: string;
  days: number;
}

/** Every value is escaped in the HTML part: an inviter's name is whatever they typed into their profile. */
export function invitationEmail(input: InvitationEmailInput): MailMessage {
  // A name is one line in a header, whatever it holds.
  const inviter = input.inviterName.replace(/\s+/g, ' ').trim();
  const intro = `${inviter} has invited you to ${input.projectName}.`;
  const steps = 'Accept the invitation, create your account with your name, company and a password, then sign in.';
  const outro = `The link works once and expires in ${input.days} days. If you were not expecting this invitation, ignore this email.`;
  const text = `Welcome to ${input.projectName}\n\n${intro}\n\n${steps}\n\nAccept the invitation: ${input.link}\n\n${outro}\n\n${input.projectName}\n`;
  const html = `<!DOCTYPE html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Welcome to ${escapeHtml(input.projectName)}</p>
<p><strong>${escapeHtml(inviter)}</strong> has invited you to <strong>${escapeHtml(input.projectName)}</strong>.</p>
<p>${escapeHtml(steps)}</p>
<p><a href="${escapeHtml(input.link)}">Accept the invitation</a></p>
<p style="color: #555">${escapeHtml(outro)}</p>
<p style="color: #555">If the button does not work, copy this link into your browser:<br>${escapeHtml(input.link)}</p>
</body></html>`;
  return {
    to: input.to,
    subject: `You've been invited to join ${input.projectName} by ${inviter}`,
    text,
    html,
  };
}

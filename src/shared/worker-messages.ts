/**
 * Messages between the cluster primary and its workers (node:cluster IPC). Each is an object whose `type`
 * starts with `energyexe:`; anything else on the channel (prom-client's aggregation, for instance) is left alone.
 */
export const SHUTDOWN_MESSAGE = { type: 'energyexe:shutdown' } as const;

export function isShutdownMessage(message: unknown): boolean {
  return (message as { type?: unknown } | null)?.type === SHUTDOWN_MESSAGE.type;
}

import fp from 'fastify-plugin';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** Shares the services with every module; the email worker runs while the app does. */
export const servicesPlugin = fp<{ services: Services }>(
  async (app, { services }) => {
    app.decorate('services', services);
    app.addHook('onReady', async () => services.start());
    app.addHook('onClose', async () => services.stop());
  },
  { name: 'services', fastify: '5.x', dependencies: ['database'] },
);

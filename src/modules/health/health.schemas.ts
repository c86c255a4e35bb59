import { Type } from 'typebox';
import { StringEnum } from '../../shared/schemas.js';

export const RootResponse = Type.Object(
  {
    message: Type.String({ maxLength: 256, examples: ['EnergyExe Core Backend API'] }),
    version: Type.String({ maxLength: 64, examples: ['1.0.0'] }),
    status: Type.Literal('healthy'),
  },
  { title: 'Root' },
);

export const LivenessResponse = Type.Object({ status: Type.Literal('healthy') }, { title: 'Liveness' });

const Checks = Type.Record(Type.String(), StringEnum(['ok', 'unavailable']), {
  examples: [{ database: 'ok' }],
});

export const ReadyResponse = Type.Object({ status: Type.Literal('ready'), checks: Checks }, { title: 'Ready' });
export const NotReadyResponse = Type.Object(
  { status: Type.Literal('unavailable'), checks: Checks },
  { title: 'NotReady' },
);

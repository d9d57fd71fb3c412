// Builds the GcServices the executor runs on: the pool services (worker threads when
// `config.workers > 0`, inline otherwise), with the Mesos-root safety check in front of
// linkedExecutors so a missing work dir never reads as "no executor is linked".
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import { mesosRootMissing } from '../errors.js';
import { createServices } from '../pool/pool-services.js';
import type { GcServices } from './services.js';

export interface BuiltServices {
  services: GcServices;
  /** The worker pool's busy share (0..1); absent when unknown. */
  utilisation?: () => number;
  /** Stops worker threads, if any. */
  close(): Promise<void>;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function buildServices(config: GcConfig, logger: Logger): Promise<BuiltServices> {
  const pooled = createServices(config, logger);
  const services: GcServices = {
    ...pooled,
    async linkedExecutors(): Promise<Set<string>> {
      if (!(await isDirectory(config.mesosRoot))) throw mesosRootMissing(config.mesosRoot);
      return pooled.linkedExecutors();
    },
  };
  return { services, utilisation: () => pooled.runner.utilisation(), close: () => pooled.close() };
}

// Builds the GcServices the executor runs on: the pool services (worker threads when
// `config.workers > 0`, inline otherwise), plus the pool's utilisation for the metrics.
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import { createServices } from './pool-services.js';
import type { GcServices } from '../services/services.js';

export interface BuiltServices {
  services: GcServices;
  /** The worker pool's busy share (0..1); absent when unknown. */
  utilisation?: () => number;
  /** Stops worker threads, if any. */
  close(): Promise<void>;
}

export async function buildServices(config: GcConfig, logger: Logger): Promise<BuiltServices> {
  const pooled = createServices(config, logger);
  return { services: pooled, utilisation: () => pooled.runner.utilisation(), close: () => pooled.close() };
}

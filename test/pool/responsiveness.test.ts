// The main thread keeps its event loop while a pool run is busy: timers (heartbeats, agent
// events) fire during a large scan instead of after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createServices } from '../../src/pool/pool-services.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { agentIn, configFor, removeDir, tempDir } from './agent-fixture.js';

describe('main thread during a pool run', () => {
  let dir: string;
  let agent: DenseAgent;
  beforeAll(async () => {
    dir = await tempDir();
    agent = await agentIn(dir, { tasks: 1000, filesPerSandbox: 0, processesPerTask: 1, runsPerProcess: 4 });
  });
  afterAll(async () => removeDir(dir));

  it('keeps ticking while 1,000 checkpoints are replayed in workers', async () => {
    const services = createServices(configFor(agent, { workers: 2, batchSize: 50 }), silentLogger());
    try {
      const { refs } = await services.listTasks([agent.checkpointRoot]);
      let ticks = 0;
      let settled = false;
      const ticksAtEnd: number[] = [];
      const timer = setInterval(() => ticks++, 1);
      const scan = services.readFacts(refs).then((facts) => {
        settled = true;
        ticksAtEnd.push(ticks);
        return facts;
      });
      // Ticks counted while the scan is still pending: the loop was free between batches.
      const midway = await new Promise<number>((resolve) => {
        const probe = setInterval(() => {
          if (ticks >= 3 || settled) {
            clearInterval(probe);
            resolve(settled ? -1 : ticks);
          }
        }, 1);
      });
      const facts = await scan;
      clearInterval(timer);
      expect(midway).toBeGreaterThanOrEqual(3);
      expect(facts).toHaveLength(1000);
      expect(facts.every((f) => f.error === undefined)).toBe(true);
      expect(ticksAtEnd[0]).toBeGreaterThanOrEqual(3);
      expect(services.runner.stats.messages).toBe(20);
    } finally {
      await services.close();
    }
  });
});

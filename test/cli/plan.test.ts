import { afterEach, describe, expect, it } from 'vitest';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { runGc } from '../../src/executor/gc-run.js';
import { createLocalServices } from '../../src/services/local-services.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { buildSnapshot } from '../../src/io/process-table.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { buildTree, retainedJson, type Tree } from '../executor/tree-fixture.js';

function cliIo(stdin = ''): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { io: { stdout, stderr, stdin: Readable.from([stdin]), env: {} }, out: () => o, err: () => e };
}

async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('thermos-gc plan', () => {
  let tree: Tree | undefined;
  afterEach(async () => {
    await tree?.cleanup();
    tree = undefined;
  });

  const args = (t: Tree, retained: string) => [
    'plan', '--checkpoint-root', t.root, '--mesos-root', t.mesos, '--sandbox-root', path.join(t.mesos, 'sandboxes'),
    '--retained', retained, '--now', String(t.startMs / 1000),
  ];

  it('prints what a run then does, and touches nothing', async () => {
    tree = await buildTree();
    const t = tree;
    const file = path.join(t.base, 'retained.json');
    await writeFile(file, retainedJson(t.retained));
    const before = await listing(t.base);
    const { io, out, err } = cliIo();
    expect(await main([...args(t, file), '--json'], io)).toBe(0);
    expect(err()).toBe('');
    const plan = JSON.parse(out()) as Record<string, unknown>;
    expect(plan).toEqual({
      terminate: ['stray'],
      local_gc: ['corrupt', 'unretained-linked'],
      remote_gc: ['ghost-term'],
      updates: { 'ghost-live': 'LOST' },
      garbage_collect: ['corrupt', 'pulled', 'shared', 'stray', 'unretained-linked'],
      deleted_tasks: ['ghost-term', 'pulled', 'shared', 'stray'],
    });
    expect(await listing(t.base)).toEqual(before);

    const logger = silentLogger();
    const services = createLocalServices({ config: t.config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
    const report = await runGc(
      { gcTaskId: 'gc-1', retained: t.retained, startMs: t.startMs },
      { services, driver: new RecordingDriver(), clock: new FakeClock(t.startMs), config: t.config, logger, metrics: new GcMetrics() },
    );
    expect(report.killed).toEqual(plan.terminate);
    expect(report.deleted).toEqual(plan.garbage_collect);
    expect(report.deletedTasks).toEqual(plan.deleted_tasks);
  });

  it('reads the map from stdin and prints a readable summary', async () => {
    tree = await buildTree();
    const t = tree;
    const { io, out } = cliIo(retainedJson(t.retained));
    expect(await main(args(t, '-'), io)).toBe(0);
    expect(out()).toMatch(/terminate 1, local gc 2, remote gc 1, updates 1, garbage collect 5, reported deleted 4/);
    expect(out()).toMatch(/^stray: kill \(scheduler-terminal\): /m);
    expect(out()).toMatch(/^pulled: delete \(finished-unlinked\)/m);
    expect(out()).toMatch(/^ghost-starting: leave \(scheduler-starting\)/m);
  });

  it('shows a held-back kill when the map is empty', async () => {
    tree = await buildTree();
    const t = tree;
    const { io, out } = cliIo('{}');
    expect(await main([...args(t, '-'), '--json'], io)).toBe(0);
    const plan = JSON.parse(out()) as { terminate: string[]; kill_budget_exceeded: unknown; garbage_collect: string[] };
    expect(plan.terminate).toEqual([]);
    expect(plan.kill_budget_exceeded).toEqual({ would_kill: 2, active: 3, budget: 0.5, why: 'empty-map' });
    // Finished tasks do not depend on the budget: unlisted, they go even with a linked executor.
    expect(plan.garbage_collect).toEqual(['corrupt', 'kept-linked', 'pulled', 'shared', 'unretained-linked']);
  });

  it('refuses bad input with exit status 2', async () => {
    tree = await buildTree();
    const t = tree;
    const cases: Array<[string[], string, RegExp]> = [
      [args(t, '-'), '{not json', /not valid JSON/],
      [args(t, '-'), '{"a": "RUNNNING"}', /unknown status "RUNNNING"/],
      [args(t, '-'), '["a"]', /expected an object/],
      [args(t, path.join(t.base, 'missing.json')), '', /--retained/],
      [['plan', '--checkpoint-root', path.join(t.base, 'nope'), '--mesos-root', t.mesos, '--retained', '-'], '{}', /nope/],
      [['plan', '--checkpoint-root', t.root, '--mesos-root', path.join(t.base, 'nope'), '--retained', '-'], '{}', /--mesos-root/],
      [['plan', '--checkpoint-root', t.root, '--mesos-root', t.mesos], '{}', /--retained FILE\|- is required/],
      [[...args(t, '-'), '--bogus'], '{}', /bogus/],
      [[...args(t, '-'), '--now', 'soon'], '{}', /--now/],
    ];
    for (const [argv, stdin, message] of cases) {
      const { io, err, out } = cliIo(stdin);
      expect(await main(argv, io)).toBe(2);
      expect(err()).toMatch(message);
      expect(out()).toBe('');
    }
  });
});

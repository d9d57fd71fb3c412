// The config module: the original's defaults, durations and sizes in the forms operators write,
// flags over environment over defaults, and errors that name the flag or variable at fault.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { compileConfig, configParseArgsOptions, defaultConfig, parseDuration, parseShare, parseSize, rawConfigFromParsed } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

describe('defaults (the original executor\'s)', () => {
  it('has the original durations and roots', () => {
    const c = compileConfig({});
    expect(c.minimumKillAgeMs).toBe(10 * 60_000);
    expect(c.pollWaitMs).toBe(5 * 60_000);
    expect(c.maxCheckpointDriftMs).toBe(60 * 60_000);
    expect(c.maxPidDriftMs).toBe(10_000);
    expect(c.maxLifetimeMs).toBe(24 * 3_600_000);
    expect(c.maxIdleMs).toBe(0);
    expect(c.persistenceWaitMs).toBe(5_000);
    expect(c.checkpointRoots).toEqual(['/var/run/thermos']);
    expect(c.mesosRoot).toBe('/var/lib/mesos');
    expect(c.sandboxRoots).toEqual(['/var/lib/mesos']);
    expect(c.killBudget).toBe(0.5);
    expect(c.workers).toBe(Math.min(availableParallelism(), 8));
    expect(c.diskHigh).toBeUndefined();
    expect(c.metricsPort).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.checkpointRoots)).toBe(true);
  });
});

describe('parseDuration', () => {
  it.each([
    ['10m', 600_000], ['5mins', 300_000], ['250ms', 250], ['1d', 86_400_000], ['15mins', 900_000],
    ['2secs', 2_000], ['1.5hrs', 5_400_000], ['0', 0], ['1w', 604_800_000], ['100us', 0], ['3 s', 3_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'ten minutes', '10 parsecs', '-5m', '5m3s'])('refuses %j', (text) => {
    expect(() => parseDuration(text, '--poll-wait')).toThrow(UsageError);
    expect(() => parseDuration(text, '--poll-wait')).toThrow(/--poll-wait/);
  });
});

describe('parseSize and parseShare', () => {
  it('reads binary sizes', () => {
    expect(parseSize('20G')).toBe(20 * 1024 ** 3);
    expect(parseSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('lots')).toThrow(UsageError);
  });
  it('reads shares as percent or fraction, within 0..1', () => {
    expect(parseShare('85%')).toBeCloseTo(0.85);
    expect(parseShare('0.75')).toBe(0.75);
    expect(() => parseShare('150%')).toThrow(/between 0 and 100%/);
    expect(() => parseShare('high')).toThrow(UsageError);
  });
});

describe('compileConfig', () => {
  it('takes flags over environment over defaults', () => {
    const env = { THERMOS_GC_MINIMUM_KILL_AGE: '20m', THERMOS_GC_POLL_WAIT: '1m', THERMOS_GC_WORKERS: '3', THERMOS_GC_CHECKPOINT_ROOT: '/a:/b' };
    const c = compileConfig({ pollWaitMs: '30s' }, env);
    expect(c.minimumKillAgeMs).toBe(20 * 60_000);
    expect(c.pollWaitMs).toBe(30_000);
    expect(c.workers).toBe(3);
    expect(c.checkpointRoots).toEqual(['/a', '/b']);
  });

  it('reads repeatable flags through parseArgs', async () => {
    const { parseArgs } = await import('node:util');
    const { values } = parseArgs({
      args: ['--checkpoint-root', '/r1', '--checkpoint-root', '/r2', '--sandbox-root', '/s', '--workers', '0', '--kill-budget', '25%'],
      options: configParseArgsOptions(),
    });
    const c = compileConfig(rawConfigFromParsed(values));
    expect(c.checkpointRoots).toEqual(['/r1', '/r2']);
    expect(c.sandboxRoots).toEqual(['/s']);
    expect(c.workers).toBe(0);
    expect(c.killBudget).toBe(0.25);
  });

  it('names the flag or variable at fault', () => {
    expect(() => compileConfig({ workers: '-1' })).toThrow(/--workers/);
    expect(() => compileConfig({}, { THERMOS_GC_MAX_IDLE: 'soon' })).toThrow(/THERMOS_GC_MAX_IDLE/);
    expect(() => compileConfig({ metricsPort: '70000' })).toThrow(/--metrics-port/);
  });

  it('checks the disk and inode marks go in pairs, low under high', () => {
    expect(() => compileConfig({ diskHigh: '85%' })).toThrow(/go together/);
    expect(() => compileConfig({ diskHigh: '70%', diskLow: '80%' })).toThrow(/below/);
    expect(() => compileConfig({ inodeLow: '10%' })).toThrow(/go together/);
    const c = compileConfig({ diskHigh: '85%', diskLow: '75%' });
    expect([c.diskHigh, c.diskLow]).toEqual([0.85, 0.75]);
  });

  it('keeps the default objects untouched', () => {
    compileConfig({ checkpointRoots: ['/x'] });
    expect(defaultConfig().checkpointRoots).toEqual(['/var/run/thermos']);
  });
});

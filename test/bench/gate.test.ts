// The bench gate's rules: bounds parsed strictly, a missing measure fails, a failed measure is
// retaken once and only the retake counts.
import { describe, expect, it } from 'vitest';
import { evaluateGate, formatGateLine, GateConfigError, meetsBound, parseThresholds, runGate } from '../../bench/gate.js';

const file = 'bench/thresholds.json';

describe('parseThresholds', () => {
  it('reads max and min bounds', () => {
    const t = parseThresholds('{"scan.ratio": {"max": 4}, "replay.speedup": {"min": 1.5}, "band": {"min": 1, "max": 2}}', file);
    expect([...t]).toEqual([
      ['scan.ratio', { max: 4 }],
      ['replay.speedup', { min: 1.5 }],
      ['band', { min: 1, max: 2 }],
    ]);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[]', 'expected an object'],
    ['{}', 'no measure is guarded'],
    ['{"a": 3}', 'a: expected'],
    ['{"a": {}}', 'a: needs "max" or "min"'],
    ['{"a": {"maximum": 3}}', 'unknown key "maximum"'],
    ['{"a": {"max": "3"}}', 'a.max: "3" is not a finite number'],
    ['{"a": {"min": 3, "max": 2}}', 'min 3 is above max 2'],
    ['{"Bad Name": {"max": 1}}', 'is not lower-case'],
  ])('refuses %s', (text, message) => {
    expect(() => parseThresholds(text, file)).toThrow(GateConfigError);
    expect(() => parseThresholds(text, file)).toThrow(message);
  });
});

describe('evaluateGate', () => {
  it('meets a bound only inside it, never for NaN', () => {
    expect(meetsBound(3.9, { max: 4 })).toBe(true);
    expect(meetsBound(4.1, { max: 4 })).toBe(false);
    expect(meetsBound(1.4, { min: 1.5 })).toBe(false);
    expect(meetsBound(Number.NaN, { max: 4 })).toBe(false);
  });

  it('fails a bound whose measure was not taken', () => {
    const lines = evaluateGate(new Map([['a', 1]]), parseThresholds('{"a": {"max": 2}, "b": {"max": 2}}', file));
    expect(lines.map((l) => [l.measure, l.met])).toEqual([['a', true], ['b', false]]);
    expect(formatGateLine(lines[1]!)).toBe('gate NOT MET b: not measured, bound ≤ 2.00');
  });
});

describe('runGate', () => {
  const thresholds = parseThresholds('{"a": {"max": 2}, "b": {"min": 10}}', file);

  it('does not retake when everything is met', async () => {
    let retakes = 0;
    const run = await runGate(new Map([['a', 1], ['b', 11]]), thresholds, async () => { retakes++; return new Map(); });
    expect(run.passed).toBe(true);
    expect(retakes).toBe(0);
  });

  it('retakes a failed measure once and passes on a good second sample', async () => {
    const asked: string[][] = [];
    const run = await runGate(new Map([['a', 3], ['b', 11]]), thresholds, async (failed) => {
      asked.push([...failed]);
      return new Map([['a', 1.5], ['b', 0]]); // b was not failed: its retake is ignored
    });
    expect(asked).toEqual([['a']]);
    expect(run.passed).toBe(true);
    expect(run.lines[0]).toMatchObject({ measure: 'a', measured: 1.5, met: true, retried: true, firstSample: 3 });
    expect(run.lines[1]).toMatchObject({ measure: 'b', measured: 11, retried: false });
    expect(formatGateLine(run.lines[0]!)).toBe('gate met     a: 1.50, bound ≤ 2.00 (retried; first sample 3.00)');
  });

  it('fails when the retake fails too, and names the measure', async () => {
    const run = await runGate(new Map([['a', 1], ['b', 5]]), thresholds, async () => new Map([['b', 6]]));
    expect(run.passed).toBe(false);
    expect(run.lines.filter((l) => !l.met).map(formatGateLine)).toEqual(['gate NOT MET b: 6.00, bound ≥ 10.0 (retried; first sample 5.00)']);
  });

  it('fails when a retake does not produce the measure', async () => {
    const run = await runGate(new Map([['a', 3], ['b', 11]]), thresholds, async () => new Map());
    expect(run.passed).toBe(false);
    expect(run.lines[0]).toMatchObject({ measured: undefined, met: false, retried: true });
  });
});

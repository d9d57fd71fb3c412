import { describe, expect, it } from 'vitest';
import { ThermosGcError } from '../../src/errors.js';
import { assertSafeTaskId, isSafePathComponent, isSafeTaskId, unsafeComponentReason } from '../../src/core/task-id.js';

describe('isSafeTaskId', () => {
  const cases: Array<[string, string | undefined]> = [
    ['hello_world', undefined],
    ['www-data-prod-hello-0-7f9c3a1e-0d4b-4a5e-9e3c-1b2a3c4d5e6f', undefined],
    ['.hidden', undefined],
    ['...', undefined],
    ['a..b', undefined],
    ['back\\slash', undefined],
    ['x'.repeat(255), undefined],
    ['é'.repeat(127), undefined], // 254 bytes
    ['', 'empty'],
    ['.', 'dot'],
    ['..', 'dot-dot'],
    ['a/b', 'slash'],
    ['/', 'slash'],
    ['../etc', 'slash'],
    ['a\0b', 'nul'],
    ['x'.repeat(256), 'too-long'],
    ['é'.repeat(128), 'too-long'], // 256 bytes in UTF-8, only 128 UTF-16 units
    ['😀'.repeat(64), 'too-long'], // 256 bytes
  ];
  it.each(cases)('%j → %s', (id, reason) => {
    expect(unsafeComponentReason(id)).toBe(reason);
    expect(isSafeTaskId(id)).toBe(reason === undefined);
    expect(isSafePathComponent(id)).toBe(reason === undefined);
  });

  it('assertSafeTaskId throws ERR_UNSAFE_TASK_ID with the task id', () => {
    expect(() => assertSafeTaskId('ok')).not.toThrow();
    let caught: unknown;
    try {
      assertSafeTaskId('..');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ThermosGcError);
    expect((caught as ThermosGcError).code).toBe('ERR_UNSAFE_TASK_ID');
    expect((caught as ThermosGcError).taskId).toBe('..');
  });
});

import fc from 'fast-check';
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
    ['x'.repeat(252) + '\ud800', undefined], // a lone surrogate is U+FFFD's 3 bytes: 255
    ['x'.repeat(253) + '\udc00', 'too-long'], // 256
    ['x'.repeat(251) + '😀', undefined], // 255
  ];
  it.each(cases)('%j → %s', (id, reason) => {
    expect(unsafeComponentReason(id)).toBe(reason);
    expect(isSafeTaskId(id)).toBe(reason === undefined);
    expect(isSafePathComponent(id)).toBe(reason === undefined);
  });

  it('too-long is exactly "more than 255 bytes as TextEncoder writes it", for any text', () => {
    const encoded = new TextEncoder();
    // Any UTF-16 code unit (lone surrogates too), whole code points, graphemes, ASCII.
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const unit = fc.oneof(fc.constant(codeUnit), fc.constantFrom<'binary' | 'grapheme' | 'binary-ascii'>('binary', 'grapheme', 'binary-ascii'));
    fc.assert(
      fc.property(
        unit.chain((u) => fc.string({ unit: u, minLength: 60, maxLength: 300 })),
        (s) => {
          const plain = s.replace(/[/\0]/g, 'x');
          expect(unsafeComponentReason(plain) === 'too-long').toBe(encoded.encode(plain).length > 255);
        },
      ),
      { numRuns: 500 },
    );
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

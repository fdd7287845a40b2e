// The OptionError a call throws (failing the test when it throws something else or nothing).
import { expect } from 'vitest';
import { OptionError } from '../src/options/error.ts';

export function errorOf(f: () => unknown): OptionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    return e as OptionError;
  }
  throw new Error('expected an OptionError');
}

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findConflictMarkers } from '../tools/lint-markers.ts';

describe('conflict-marker lint', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dwdp-markers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names each marker line and ignores look-alikes and binaries', () => {
    mkdirSync(path.join(dir, 'docs'));
    writeFileSync(path.join(dir, 'README.md'), 'a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> branch (msg)\n');
    // A setext heading underline, an arrow of 8 characters and text mentioning the marker.
    writeFileSync(path.join(dir, 'docs/x.md'), 'Title\n=======\n>>>>>>>> not a marker\nsee `<<<<<<< HEAD`\n');
    writeFileSync(path.join(dir, 'blob.bin'), Buffer.from([0, 60, 60, 60, 60, 60, 60, 60, 32, 10]));
    const hits = findConflictMarkers(dir, ['README.md', 'docs/x.md', 'blob.bin', 'missing.txt']);
    expect(hits.map((h) => `${h.file}:${h.line}`)).toEqual(['README.md:2', 'README.md:6']);
  });

  it('finds none in this repository', () => {
    expect(findConflictMarkers()).toEqual([]);
  });
});

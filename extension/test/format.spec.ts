/**
 * The number and time rule, pinned with the same examples as the Python side
 * (tests/test_display.py): both read tests/format_examples.json.
 */
import * as fs from 'fs';
import * as path from 'path';

import { formatDateTime, formatNumber, zoneLabel } from '../src/format';

interface IExamples {
  numbers: [number | null, string][];
  times: [string, string, string][];
}

const examples: IExamples = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'format_examples.json'), 'utf-8')
);

describe('formatNumber, as mlops_nb.display.format_number', () => {
  it.each(examples.numbers)('%p reads %p', (value, shown) => {
    expect(formatNumber(value)).toBe(shown);
  });

  it('names what JSON cannot carry', () => {
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatNumber(-Infinity)).toBe('-∞');
    expect(formatNumber(undefined)).toBe('–');
  });
});

describe('formatDateTime, as mlops_nb.display.format_time', () => {
  it.each(examples.times)('%p in %p reads %p', (iso, zone, shown) => {
    expect(formatDateTime(iso, zone)).toBe(shown);
  });

  it('falls back to UTC for an unknown zone, and a dash for no time', () => {
    expect(formatDateTime('2026-11-25T02:00:00Z', 'Not/AZone')).toBe('Wed 2026-11-25 02:00 UTC');
    expect(formatDateTime(null, 'UTC')).toBe('–');
    expect(formatDateTime('yesterday', 'UTC')).toBe('–');
  });

  it('labels zones by their offset', () => {
    expect([0, 60, -300, 330, -570].map(zoneLabel)).toEqual([
      'UTC',
      'UTC+1',
      'UTC-5',
      'UTC+5:30',
      'UTC-9:30'
    ]);
  });
});

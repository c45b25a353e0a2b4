import test from 'node:test';
import assert from 'node:assert/strict';
import { inTimeWindow, onDay, parseDaySet, parseTimeWindow } from '../../../../engine/rules/schedule.js';

test('time windows: 24h and am/pm forms; a reversed range becomes a negated one', () => {
  assert.deepEqual(parseTimeWindow('9:00 - 17:30'), { negate: false, from: '09:00', to: '17:30' });
  assert.deepEqual(parseTimeWindow('!9 am-5 pm'), { negate: true, from: '09:00', to: '17:00' });
  assert.deepEqual(parseTimeWindow('6 pm - 8:30 am'), { negate: true, from: '08:30', to: '18:00' });
  assert.deepEqual(parseTimeWindow('12 am - 12 pm'), { negate: false, from: '00:00', to: '12:00' });
  for (const bad of ['24 - 25', '9:00', '9:00 - 10:00 x', '123 - 4', '9 xm - 10', '']) assert.equal(parseTimeWindow(bad), undefined, bad);
  const night = parseTimeWindow('6 pm - 8:30 am')!;
  assert.equal(inTimeWindow(night, '23:10'), true);
  assert.equal(inTimeWindow(night, '08:30'), false);
  assert.equal(inTimeWindow(night, '12:00'), false);
});

test('weekdays: names, abbreviations, weekdays/weekends, separators; a negation is refused', () => {
  const set = parseDaySet('mon, Wed weekends')!;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((d) => onDay(set, d)), [true, true, false, true, false, false, true]);
  assert.deepEqual(parseDaySet('weekdays')!.days, [false, true, true, true, true, true, false]);
  for (const bad of ['!monday', 'mondayx', 'funday', '', ' , ']) assert.equal(parseDaySet(bad), undefined, bad);
});

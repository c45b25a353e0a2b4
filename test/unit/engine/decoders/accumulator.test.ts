/** The accumulator's store rules, driven directly with events. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Accumulator } from '../../../../engine/decoders/accumulator.js';
import { eventOf } from './fixture.js';

function event(fields: Record<string, string>, hostname = 'h'): ReturnType<typeof eventOf> {
  const e = eventOf('x', undefined, hostname);
  Object.assign(e.fields, fields);
  return e;
}

test('known values are never overwritten, in the event or in the store', () => {
  const acc = new Accumulator();
  acc.accumulate(event({ id: '1', srcip: 'a', data: 'd' }), 'dec', 10);
  const second = event({ id: '1', srcip: 'b' });
  acc.accumulate(second, 'dec', 20);
  assert.deepEqual(second.fields, { id: '1', srcip: 'b', data: 'd' });
  const third = event({ id: '1' });
  acc.accumulate(third, 'dec', 30);
  assert.deepEqual(third.fields, { id: '1', srcip: 'a', data: 'd' });
});

test('empty values and values over 80 bytes are neither stored nor restored; extra_data and the rest are not accumulated', () => {
  const acc = new Accumulator();
  acc.accumulate(event({ id: '1', srcuser: 'x'.repeat(81), dstuser: '', extra_data: 'e', url: 'u' }), 'dec', 10);
  const next = event({ id: '1', dstport: 'p'.repeat(80) });
  acc.accumulate(next, 'dec', 20);
  assert.deepEqual(next.fields, { id: '1', dstport: 'p'.repeat(80) });
  const last = event({ id: '1' });
  acc.accumulate(last, 'dec', 30);
  assert.deepEqual(last.fields, { id: '1', dstport: 'p'.repeat(80) });
});

test('entries are per host, decoder and id; no id or a key of 256 bytes or more means no accumulation', () => {
  const acc = new Accumulator();
  acc.accumulate(event({ id: '1', srcip: 'a' }), 'dec', 10);
  for (const [fields, host, name] of [[{ id: '1' }, 'other', 'dec'], [{ id: '1' }, 'h', 'other'], [{ id: '2' }, 'h', 'dec'], [{}, 'h', 'dec']] as const) {
    const e = event({ ...fields }, host);
    acc.accumulate(e, name, 20);
    assert.equal(e.fields.srcip, undefined);
  }
  const long = 'x'.repeat(250);
  acc.accumulate(event({ id: long, srcip: 'a' }), 'dec', 10);
  const e = event({ id: long });
  acc.accumulate(e, 'dec', 20);
  assert.equal(e.fields.srcip, undefined);
});

test('every 200th lookup purges entries older than 120 s', () => {
  const acc = new Accumulator();
  acc.accumulate(event({ id: 'old', srcip: 'a' }), 'dec', 0);
  for (let i = 1; i < 199; i++) acc.accumulate(event({ id: 'fresh' }), 'dec', 500);
  assert.equal(acc.size, 2);
  acc.accumulate(event({ id: 'fresh' }), 'dec', 500);
  assert.equal(acc.size, 1);
});

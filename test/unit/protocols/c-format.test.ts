/** %f and %g as glibc prints them, ties and exponents included. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatFixed6, formatGeneral } from '../../../protocols/c-format.js';

test('%f: six decimals, exact ties to even, no exponent however large', () => {
  const cases: [number, string][] = [
    [0.5, '0.500000'], [1 / 3, '0.333333'], [2 / 3, '0.666667'], [0.0078125, '0.007812'], [0.0234375, '0.023438'],
    [-0.0078125, '-0.007812'], [5e-7, '0.000000'], [-1e-9, '-0.000000'], [12345678901, '12345678901.000000'],
    [1e21, '1000000000000000000000.000000'], [2 ** 70, '1180591620717411303424.000000'], [Infinity, 'inf'], [-Infinity, '-inf'],
  ];
  for (const [x, want] of cases) assert.equal(formatFixed6(x), want, String(x));
});

test('%.15g and %.17g: shortest fixed or exponent form, trailing zeros dropped, two-digit exponents', () => {
  const cases: [number, number, string][] = [
    [0.1, 15, '0.1'], [0.1, 17, '0.10000000000000001'], [1e-5, 15, '1e-05'], [0.0001, 15, '0.0001'], [123456789012345680, 15, '1.23456789012346e+17'],
    [1e15, 15, '1e+15'], [1e14, 15, '100000000000000'], [-2.5, 15, '-2.5'], [1e300, 15, '1e+300'], [5e-324, 17, '4.9406564584124654e-324'],
    // Exact ties round to even where toExponential would round up.
    [9.937652587890625, 15, '9.93765258789062'], [8.295562744140625, 15, '8.29556274414062'], [0.012277603149414062, 17, '0.012277603149414062'],
  ];
  for (const [x, p, want] of cases) assert.equal(formatGeneral(x, p), want, `${x} %.${p}g`);
});

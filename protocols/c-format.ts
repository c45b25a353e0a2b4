/**
 * The C printf conversions Wazuh's JSON output depends on (glibc semantics): `%f` (the
 * JSON decoder's numbers) and `%1.<p>g` (cJSON's numbers) for doubles. JS toFixed and
 * toExponential round exact ties away from zero and switch to exponents at other
 * thresholds, so both are rebuilt here.
 */

/** `%f`: six decimals, exact ties to even, never an exponent. */
export function formatFixed6(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e21) return (x < 0 ? '-' : '') + BigInt(magnitude).toString() + '.000000';
  const scaled = magnitude * 128;
  // A tie at the sixth decimal needs |x|·2·10⁶ odd, i.e. |x|·128 an odd integer.
  if (Number.isInteger(scaled) && scaled % 2 === 1) {
    let micros = (BigInt(scaled) * 15625n - 1n) / 2n;
    if (micros % 2n === 1n) micros += 1n;
    const frac = (micros % 1000000n).toString().padStart(6, '0');
    return `${x < 0 ? '-' : ''}${micros / 1000000n}.${frac}`;
  }
  return x.toFixed(6);
}

/** `%1.<precision>g`: significant digits (exact ties to even), trailing zeros dropped, exponent below 1e-4 or at 10^precision. */
export function formatGeneral(x: number, precision: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const { digits, exponent } = roundSignificant(Math.abs(x), precision);
  const sign = x < 0 ? '-' : '';
  if (exponent < -4 || exponent >= precision) {
    const abs = Math.abs(exponent);
    const head = stripZeros(digits[0] + '.' + digits.slice(1));
    return `${sign}${head}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const text = exponent >= 0
    ? digits.slice(0, exponent + 1) + '.' + digits.slice(exponent + 1)
    : '0.' + '0'.repeat(-exponent - 1) + digits;
  return sign + stripZeros(text);
}

/** `precision` significant digits of a positive double, from its exact decimal value; exponent of the first digit. */
function roundSignificant(x: number, precision: number): { digits: string; exponent: number } {
  const { digits: all, exp10 } = exactDecimal(x);
  let exponent = all.length - 1 + exp10;
  if (all.length <= precision) return { digits: all.padEnd(precision, '0'), exponent };
  let head = all.slice(0, precision);
  const next = all.charCodeAt(precision) - 0x30;
  const beyond = /[1-9]/.test(all.slice(precision + 1));
  const up = next > 5 || (next === 5 && (beyond || (head.charCodeAt(precision - 1) - 0x30) % 2 === 1));
  if (up) {
    const bumped = (BigInt(head) + 1n).toString();
    if (bumped.length > precision) exponent++;
    head = bumped.slice(0, precision);
  }
  return { digits: head, exponent };
}

/** The exact value of a positive finite double as an integer digit string times 10^exp10. */
function exactDecimal(x: number): { digits: string; exp10: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let exp2 = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    exp2 = biased - 1075;
  }
  if (exp2 >= 0) return { digits: (mantissa << BigInt(exp2)).toString(), exp10: 0 };
  // m·2^-k = m·5^k·10^-k
  return { digits: (mantissa * 5n ** BigInt(-exp2)).toString(), exp10: exp2 };
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 0x30) end--;
  if (text.charCodeAt(end - 1) === 0x2e) end--;
  return text.slice(0, end);
}

/**
 * The C printf conversions the JSON decoder's output depends on (glibc semantics): `%f`
 * and `%.<p>g` for doubles. JS toFixed/toPrecision round exact ties away from zero and
 * switch to exponents at other thresholds, so both are rebuilt here.
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

/** `%1.<precision>g`: significant digits, trailing zeros dropped, exponent below 1e-4 or at 10^precision. */
export function formatGeneral(x: number, precision: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, exponentText] = x.toExponential(precision - 1).split('e') as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent < -4 || exponent >= precision) {
    const abs = Math.abs(exponent);
    const head = stripZeros(digits[0] + '.' + digits.slice(1));
    return `${negative ? '-' : ''}${head}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const text = exponent >= 0
    ? digits.slice(0, exponent + 1) + '.' + digits.slice(exponent + 1)
    : '0.' + '0'.repeat(-exponent - 1) + digits;
  return (negative ? '-' : '') + stripZeros(text);
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 0x30) end--;
  if (text.charCodeAt(end - 1) === 0x2e) end--;
  return text.slice(0, end);
}

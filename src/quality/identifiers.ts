/** Dutch identifier checks: BSN (9 digits, 11-check), AGB and URA (8 digits). */

/** BSN: 9 digits (8 with a leading zero dropped is not accepted), sum of digit×(9..2) − last digit ≡ 0 mod 11. */
export function isValidBsn(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (9 - i) * (value.charCodeAt(i) - 48);
  sum -= value.charCodeAt(8) - 48;
  return sum % 11 === 0 && value !== '000000000';
}

/** AGB code: 8 digits, the first two the kind of care provider (never 00). */
export function isValidAgb(value: string): boolean {
  return /^\d{8}$/.test(value) && !value.startsWith('00');
}

/** URA number: 8 digits. */
export function isValidUra(value: string): boolean {
  return /^\d{8}$/.test(value);
}

export const IDENTIFIER_CHECKS = { bsn: isValidBsn, agb: isValidAgb, ura: isValidUra } as const;
